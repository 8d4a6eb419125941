-- interaction_graph_nodes with Amazon Neptune's Gremlin bulk-load CSV headers (~id, ~label,
-- then <property>:<type>); written to CSV by neptune_export.
select
    node_id as {{ adapter.quote("~id") }},
    node_label as {{ adapter.quote("~label") }},
    node_name as {{ adapter.quote("name:String") }},
    price_minor as {{ adapter.quote("price_minor:Long") }},
    rating as {{ adapter.quote("rating:Int") }},
    {{ format_iso8601_utc('created_at') }} as {{ adapter.quote("created_at:Date") }}
from {{ ref('interaction_graph_nodes') }}
