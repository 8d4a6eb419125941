"""``GET /tag.js``, the clickstream tag for shop pages, and ``GET /tracking/demo``.

The readable, commented source is ``static/tag.js``. What browsers get is that file with
its comment lines and indentation removed (the source keeps comments on lines of their
own and has no multi-line strings, so this changes no meaning), gzipped when the browser
accepts it. The URL is not versioned, so caches keep it for five minutes only and then
revalidate cheaply with the ETag.

The demo page is a tiny shop page on the same origin (no CDN, inline assets only) that
loads the tag the recommended way; the browser test drives it, and developers can watch
the events it sends with ``?debug=1`` and the browser console. Its items have ids under the
``demo:`` prefix, which the event contract accepts (``events.ENTITY_ID_PATTERN``), so a visit
lands as ordinary events that never fail the warehouse's id tests.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from shop_api.core.etags import etag_matches

router = APIRouter(tags=["tracking"])

SOURCE = Path(__file__).parent / "static" / "tag.js"
CACHE_CONTROL = "public, max-age=300"
MEDIA_TYPE = "application/javascript; charset=utf-8"


@dataclass(frozen=True)
class TagScript:
    body: bytes
    gzipped: bytes
    etag: str

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'


def strip_comments(source: str) -> str:
    """Drop comment-only lines, block comments opening a line (but keep ``/*!`` notices),
    blank lines and indentation."""
    kept: list[str] = []
    in_block = False
    for line in source.splitlines():
        text = line.strip()
        if in_block or (text.startswith("/*") and not text.startswith("/*!")):
            in_block = not text.endswith("*/")
        elif text and not text.startswith("//"):
            kept.append(text)
    return "\n".join(kept) + "\n"


@cache
def tag_script() -> TagScript:
    body = strip_comments(SOURCE.read_text(encoding="utf-8")).encode()
    digest = hashlib.sha256(body).hexdigest()[:20]
    return TagScript(body=body, gzipped=gzip.compress(body, mtime=0), etag=f'"{digest}"')


@router.get(
    "/tag.js",
    response_class=Response,
    responses={
        200: {"content": {"application/javascript": {}}, "description": "The tag script"},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
    },
)
def tag_js(request: Request) -> Response:
    """The clickstream tag for shop pages (see ``shop_api/tracking/static/tag.js``)."""
    script = tag_script()
    use_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    etag = script.gzip_etag if use_gzip else script.etag
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if etag_matches(request.headers.get("if-none-match"), (script.etag, script.gzip_etag)):
        return Response(status_code=304, headers=headers)
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
        return Response(script.gzipped, media_type=MEDIA_TYPE, headers=headers)
    return Response(script.body, media_type=MEDIA_TYPE, headers=headers)


DEMO_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mercado demo shop</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; }
  .promo { background: #fde68a; padding: 1rem; border-radius: .5rem; }
  ul { list-style: none; padding: 0; }
  li { display: flex; justify-content: space-between; padding: .5rem 0;
       border-bottom: 1px solid #ddd; }
  #log { font: 12px monospace; white-space: pre-wrap; color: #555; }
</style>
<script>
  // The stub: calls made before /tag.js has loaded are queued, then replayed by the tag.
  window.mercado = window.mercado || function () {
    (mercado.q = mercado.q || []).push(arguments);
  };
  mercado('config', { debug: /[?&]debug=1/.test(location.search) });
  var ITEMS = [
    { item_id: 'demo:film-camera', item_name: 'Film camera', item_category: 'cameras',
      price: 120.0, quantity: 1, index: 0, seller_id: 'demo:seller' },
    { item_id: 'demo:tripod', item_name: 'Tripod', item_category: 'cameras',
      price: 35.5, quantity: 1, index: 1, seller_id: 'demo:seller' }
  ];
  mercado('event', 'view_item_list', { list_id: 'demo', list_name: 'Demo shelf' }, ITEMS);
  function note(name, id) {
    document.getElementById('log').textContent += name + ' ' + (id || '(queued)') + '\\n';
  }
</script>
<script async src="/tag.js"></script>
</head>
<body>
<h1>Mercado demo shop</h1>
<p>This page loads <code>/tag.js</code>: it sends a <code>page_view</code> and a
<code>view_item_list</code> on load, and an event for each button. Add
<code>?debug=1</code> to the URL and open the console to watch them go to
<code>/collect</code>.</p>
<div class="promo">
  Summer sale: 20% off cameras
  <button id="promo" type="button">See the offer</button>
</div>
<ul>
  <li>Film camera, 120.00 <button class="add" data-index="0" type="button">Add to cart</button></li>
  <li>Tripod, 35.50 <button class="add" data-index="1" type="button">Add to cart</button></li>
</ul>
<h2>Recommended for you</h2>
<!-- As a page renders a /recommendations response: its list_id, each item's position. -->
<ul data-mercado-list-id="recs:demo-model" data-mercado-list-name="recommendations">
  <li data-mercado-item-id="demo:tripod" data-mercado-item-name="Tripod"
      data-mercado-item-category="cameras" data-mercado-price="35.5" data-mercado-index="0"
      data-mercado-seller-id="demo:seller"><span>Tripod, 35.50</span></li>
</ul>
<div id="log"></div>
<script>
  document.getElementById('promo').addEventListener('click', function () {
    note('select_promotion', mercado('event', 'select_promotion',
      { promotion_id: 'summer-sale', promotion_name: 'Summer sale', creative_slot: 'banner' }));
  });
  document.querySelectorAll('.add').forEach(function (button) {
    button.addEventListener('click', function () {
      var item = ITEMS[Number(button.dataset.index)];
      note('add_to_cart', mercado('event', 'add_to_cart',
        { currency: 'EUR', value: item.price }, [item]));
    });
  });
</script>
</body>
</html>
"""


@router.get("/tracking/demo", response_class=HTMLResponse, include_in_schema=False)
def tracking_demo() -> HTMLResponse:
    """A small shop page that loads /tag.js; used by the browser test."""
    return HTMLResponse(DEMO_PAGE, headers={"Cache-Control": "no-store"})
