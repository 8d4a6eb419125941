-- interaction_graph_nodes with Amazon Neptune's Gremlin bulk-load CSV headers (~id, ~label,
-- then <property>:<type>); written to CSV by neptune_export.
select
    node_id as "~id",
    node_label as "~label",
    node_name as "name:String",
    price_minor as "price_minor:Long",
    rating as "rating:Int",
    {{ format_iso8601_utc('created_at') }} as "created_at:Date"
from {{ ref('interaction_graph_nodes') }}
