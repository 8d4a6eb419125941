"""The category tree a fresh shop starts with (slug -> (name, children))."""

from __future__ import annotations

CategoryTree = dict[str, tuple[str, "CategoryTree"]]

DEFAULT_CATEGORY_TREE: CategoryTree = {
    "electronics": (
        "Electronics",
        {
            "phones": (
                "Phones",
                {
                    "smartphones": ("Smartphones", {}),
                    "phone-accessories": ("Phone accessories", {}),
                },
            ),
            "computers": (
                "Computers",
                {
                    "laptops": ("Laptops", {}),
                    "desktops": ("Desktops", {}),
                    "computer-accessories": ("Computer accessories", {}),
                },
            ),
            "audio": ("Audio", {"headphones": ("Headphones", {}), "speakers": ("Speakers", {})}),
            "cameras": ("Cameras", {}),
        },
    ),
    "home": (
        "Home & garden",
        {
            "furniture": ("Furniture", {}),
            "kitchen": ("Kitchen", {}),
            "bed-bath": ("Bed & bath", {}),
            "garden": ("Garden", {}),
            "decor": ("Decor", {}),
        },
    ),
    "fashion": (
        "Fashion",
        {
            "womens-clothing": ("Women's clothing", {}),
            "mens-clothing": ("Men's clothing", {}),
            "shoes": ("Shoes", {}),
            "watches": ("Watches", {}),
            "bags": ("Bags & luggage", {}),
        },
    ),
    "health-beauty": (
        "Health & beauty",
        {
            "perfumery": ("Perfumery", {}),
            "personal-care": ("Personal care", {}),
        },
    ),
    "sports": (
        "Sports & leisure",
        {
            "fitness": ("Fitness", {}),
            "cycling": ("Cycling", {}),
            "camping": ("Camping", {}),
        },
    ),
    "toys-baby": ("Toys & baby", {"toys": ("Toys", {}), "baby": ("Baby", {})}),
    "books-media": (
        "Books & media",
        {
            "books": ("Books", {}),
            "music": ("Music", {}),
            "video-games": ("Video games", {}),
        },
    ),
    "auto": ("Auto parts", {}),
    "pet-shop": ("Pet shop", {}),
    "office": ("Office & stationery", {}),
}
