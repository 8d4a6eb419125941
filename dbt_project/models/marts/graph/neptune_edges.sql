-- interaction_graph_edges with Amazon Neptune's Gremlin bulk-load CSV headers (~id, ~from,
-- ~to, ~label, then <property>:<type>); written to CSV by neptune_export.
select
    edge_id as "~id",
    from_node_id as "~from",
    to_node_id as "~to",
    edge_label as "~label",
    weight as "weight:Double",
    {{ format_iso8601_utc('created_at') }} as "created_at:Date"
from {{ ref('interaction_graph_edges') }}
