"""What synthetic catalogues are made of: words and prices per leaf category.

Every leaf of ``shop_api.catalog.default_tree`` has product nouns, descriptive words and
brands (titles are built from them, and shoppers search with them), a log-normal price
(median in cents and the sigma of its logarithm) and a popularity weight (how much of the
market the category gets). ``NO_RESULT_QUERIES`` are things people type that the shop
does not sell.
"""

from __future__ import annotations

from dataclasses import dataclass

from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE, CategoryTree


@dataclass(frozen=True)
class CategoryWords:
    nouns: tuple[str, ...]
    words: tuple[str, ...]
    brands: tuple[str, ...]
    median_price_minor: int
    price_sigma: float
    popularity: float


def _c(nouns: str, words: str, brands: str, median: int, sigma: float, pop: float) -> CategoryWords:
    return CategoryWords(
        tuple(nouns.split()), tuple(words.split()), tuple(brands.split()), median, sigma, pop
    )


VOCABULARY: dict[str, CategoryWords] = {
    "smartphones": _c(
        "smartphone phone handset", "unlocked dual-sim 128gb 256gb 5g compact refurbished",
        "Nexo Orbi Kaito Lumia Vantta", 39_900, 0.55, 3.0),
    "phone-accessories": _c(
        "case charger cable protector holder powerbank", "magnetic fast-charging usb-c "
        "tempered leather wireless", "Orbi Voltix Kaito Grip", 1_900, 0.6, 3.5),
    "laptops": _c(
        "laptop notebook ultrabook chromebook", "14-inch 16-inch lightweight gaming "
        "business touchscreen", "Nexo Kaito Aster Vantta", 89_900, 0.45, 2.0),
    "desktops": _c(
        "desktop tower workstation mini-pc", "gaming silent compact 32gb ssd",
        "Aster Kaito Nexo", 99_900, 0.5, 0.8),
    "computer-accessories": _c(
        "keyboard mouse monitor webcam hub dock", "mechanical wireless ergonomic 27-inch "
        "4k usb-c backlit", "Voltix Aster Keyra Logix", 4_900, 0.8, 2.5),
    "headphones": _c(
        "headphones earbuds headset earphones", "wireless noise-cancelling over-ear "
        "sport bluetooth studio", "Sonara Audix Kaito Bassline", 7_900, 0.7, 2.5),
    "speakers": _c(
        "speaker soundbar subwoofer", "bluetooth portable waterproof smart stereo",
        "Sonara Audix Bassline", 8_900, 0.7, 1.2),
    "cameras": _c(
        "camera lens tripod camcorder", "mirrorless 35mm film vintage action instant",
        "Lumen Optix Kaito Retra", 45_900, 0.8, 0.9),
    "furniture": _c(
        "sofa chair table desk bookshelf wardrobe", "oak walnut modular folding "
        "upholstered scandinavian", "Nordhem Casa Arbor Loft", 24_900, 0.7, 1.8),
    "kitchen": _c(
        "pan pot knife blender kettle mug", "nonstick stainless ceramic cast-iron "
        "electric espresso", "Cocina Ferro Chefline Casa", 3_900, 0.75, 3.0),
    "bed-bath": _c(
        "towel sheets duvet pillow bathrobe", "cotton linen organic king queen soft",
        "Nordhem Linna Casa Plume", 4_500, 0.6, 2.0),
    "garden": _c(
        "hose planter mower shovel seeds", "cordless raised ceramic organic "
        "self-watering", "Verde Arbor Greenwell", 3_500, 0.85, 1.2),
    "decor": _c(
        "lamp rug mirror vase frame candle", "vintage minimalist handmade ceramic "
        "boho brass", "Casa Loft Lumen Arbor", 2_900, 0.8, 2.0),
    "womens-clothing": _c(
        "dress blouse skirt jeans jacket sweater", "linen floral slim oversized "
        "cotton wool", "Alma Moda Sienna Vera", 3_900, 0.6, 4.0),
    "mens-clothing": _c(
        "shirt jeans jacket sweater trousers hoodie", "slim oxford denim wool "
        "cotton classic", "Moda Norte Rivet Harbor", 3_900, 0.6, 3.0),
    "shoes": _c(
        "sneakers boots sandals loafers heels", "running leather waterproof suede "
        "casual trail", "Stride Rivet Alma Pace", 6_900, 0.55, 3.0),
    "watches": _c(
        "watch smartwatch chronograph", "automatic quartz titanium leather diver",
        "Tempo Chrona Kaito Vantta", 14_900, 0.9, 1.0),
    "bags": _c(
        "backpack suitcase handbag tote wallet", "leather canvas carry-on waterproof "
        "travel", "Rivet Alma Nomad Harbor", 4_900, 0.7, 1.8),
    "perfumery": _c(
        "perfume cologne fragrance", "floral woody citrus eau-de-parfum travel-size",
        "Fiora Essenza Noir", 5_900, 0.55, 1.5),
    "personal-care": _c(
        "shampoo moisturizer razor toothbrush serum", "organic electric sensitive "
        "vitamin-c travel", "Purea Derma Fiora Lumi", 1_500, 0.6, 3.0),
    "fitness": _c(
        "dumbbells mat treadmill kettlebell resistance-bands", "adjustable foldable "
        "non-slip home-gym", "Pace Vigor Atlas", 4_900, 0.9, 1.8),
    "cycling": _c(
        "bicycle helmet saddle lights pump", "road mountain electric carbon folding",
        "Velo Atlas Pace Ciclo", 8_900, 1.0, 0.9),
    "camping": _c(
        "tent sleeping-bag stove lantern hammock", "ultralight waterproof 2-person "
        "4-season compact", "Nomad Trailhead Atlas", 6_900, 0.7, 1.0),
    "toys": _c(
        "puzzle lego doll robot boardgame", "wooden educational remote-control "
        "classic family", "Ludo Brincar Tiko", 2_900, 0.7, 2.5),
    "baby": _c(
        "stroller diapers crib bottle carrier", "organic foldable convertible "
        "anti-colic ergonomic", "Tiko Bebe Ninho", 4_900, 0.9, 1.5),
    "books": _c(
        "novel cookbook biography guide atlas", "paperback hardcover illustrated "
        "bestselling classic", "Paginas Quill Harbor", 1_900, 0.45, 3.0),
    "music": _c(
        "vinyl guitar keyboard ukulele cd", "acoustic electric remastered deluxe "
        "beginner", "Sonara Quill Retra", 2_900, 0.9, 1.0),
    "video-games": _c(
        "console controller game headset", "wireless collector's open-world "
        "multiplayer retro", "Pixelia Kaito Ludo", 5_900, 0.7, 2.0),
    "auto": _c(
        "tires wipers dashcam jumpstarter floor-mats", "all-season universal 4k "
        "heavy-duty rubber", "Rodar Motix Ferro", 4_900, 0.8, 1.0),
    "pet-shop": _c(
        "dog-food cat-litter leash aquarium scratcher", "grain-free clumping "
        "reflective large organic", "Patas Miau Canino", 2_500, 0.65, 1.8),
    "office": _c(
        "notebook pens planner stapler chair", "recycled ergonomic refillable "
        "dotted premium", "Quill Paginas Logix", 1_200, 0.8, 1.5),
}  # fmt: skip

# Queries that find nothing in any simulated catalogue (rare or absurd wishes).
NO_RESULT_QUERIES = (
    "unicorn saddle", "zeppelin", "left-handed teapot", "moon rock", "dinosaur egg",
    "invisible ink refill", "flux capacitor", "dragon scale armor", "quantum toaster",
    "underwater hairdryer", "glass hammer", "solar flashlight for night",
)  # fmt: skip


def leaf_categories(tree: CategoryTree = DEFAULT_CATEGORY_TREE) -> list[str]:
    """Leaf slugs in tree order (listings are filed under leaves)."""
    leaves: list[str] = []
    for slug, (_name, children) in tree.items():
        leaves.extend(leaf_categories(children) if children else [slug])
    return leaves


def category_names(tree: CategoryTree = DEFAULT_CATEGORY_TREE) -> dict[str, str]:
    names: dict[str, str] = {}
    for slug, (name, children) in tree.items():
        names[slug] = name
        names.update(category_names(children))
    return names
