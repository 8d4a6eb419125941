-- interaction_graph_edges with Amazon Neptune's Gremlin bulk-load CSV headers (~id, ~from,
-- ~to, ~label, then <property>:<type>); written to CSV by neptune_export.
select
    edge_id as {{ adapter.quote("~id") }},
    from_node_id as {{ adapter.quote("~from") }},
    to_node_id as {{ adapter.quote("~to") }},
    edge_label as {{ adapter.quote("~label") }},
    weight as {{ adapter.quote("weight:Double") }},
    {{ format_iso8601_utc('created_at') }} as {{ adapter.quote("created_at:Date") }}
from {{ ref('interaction_graph_edges') }}
