"""Column names of every frame the ``ml`` package reads or writes, in one place."""

USER = "user_id"
ITEM = "item_id"
TIMESTAMP = "timestamp"
WEIGHT = "weight"
EVENT = "event_name"
VALUE = "value"
RANK = "rank"
SCORE = "score"

# Item attributes (listings).
CATEGORY = "category_id"
CATEGORY_PATH = "category_path"
SELLER = "seller_id"
PRICE = "price"
CONDITION = "condition"
TITLE = "title"

# User attributes (accounts).
SIGNUP_CHANNEL = "signup_channel"
REGION = "region"
BEHAVIOUR = "behaviour"

# Derived by ml.data: row indices into the id maps and each user's recency position
# (1 = the user's most recent interaction).
USER_ROW = "user_row"
ITEM_ROW = "item_row"
RECENCY = "recency"

# The ``interactions`` mart's names, mapped onto the ones above by ml.data.from_mart.
MART_COLUMNS = {
    "user_key": USER,
    "product_id": ITEM,
    "last_interaction_at": TIMESTAMP,
    "interaction_weight": WEIGHT,
}

# The mart's signal counts per event name (``interaction_weight`` is their weighted sum,
# ``write_review`` counting weight x review_rating / 5); ml.data re-weighs them.
MART_SIGNALS = {
    "view_item": "views",
    "select_item": "clicks",
    "add_to_cart": "cart_adds",
    "purchase": "units_purchased",
}
MART_RATING = "review_rating"
