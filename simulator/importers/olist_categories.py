"""Olist's product categories (Portuguese names) on the shop's category tree.

Categories the default tree already has are reused; the others are added as children of a
sensible parent, or under an ``imported`` root when the tree has no such parent (food,
services, …). Each Olist name also gets a short English label, used in listing titles; the
listing keeps the original name in ``attributes.olist_category``. Names not listed here
(a newer Olist file) get their own category under ``imported``.
"""

from __future__ import annotations

import re

from shop_api.catalog.default_tree import CategoryTree

IMPORTED_ROOT = "imported"
UNCATEGORISED = "uncategorised"

# New categories, hung under the default tree's parents (which seeding finds by slug).
OLIST_CATEGORY_TREE: CategoryTree = {
    "electronics": (
        "Electronics",
        {"computers": ("Computers", {"tablets-printing": ("Tablets & printing", {})})},
    ),
    "home": (
        "Home & garden",
        {
            "housewares": ("Housewares", {}),
            "home-appliances": ("Home appliances", {}),
            "small-appliances": ("Small appliances", {}),
            "air-conditioning": ("Air conditioning", {}),
            "home-comfort": ("Home comfort", {}),
            "tools-construction": ("Tools & construction", {}),
            "art-crafts": ("Art & crafts", {}),
            "party-seasonal": ("Party & seasonal", {}),
        },
    ),
    "fashion": (
        "Fashion",
        {
            "underwear-swimwear": ("Underwear & swimwear", {}),
            "sportswear": ("Sportswear", {}),
            "kids-clothing": ("Kids' clothing", {}),
        },
    ),
    "books-media": (
        "Books & media",
        {"movies": ("Movies", {}), "musical-instruments": ("Musical instruments", {})},
    ),
    "office": ("Office & stationery", {"office-furniture": ("Office furniture", {})}),
    IMPORTED_ROOT: (
        "Imported",
        {
            "food-drink": ("Food & drink", {}),
            "cool-stuff": ("Cool stuff", {}),
            "marketplace": ("Marketplace", {}),
            "business-industry": ("Business & industry", {}),
            "services": ("Services", {}),
            UNCATEGORISED: ("Uncategorised", {}),
        },
    ),
}

# Olist name -> (category slug, English label).
OLIST_CATEGORIES: dict[str, tuple[str, str]] = {
    "": (UNCATEGORISED, "Product"),
    "agro_industria_e_comercio": ("business-industry", "Agro-industry"),
    "alimentos": ("food-drink", "Food"),
    "alimentos_bebidas": ("food-drink", "Food & drink"),
    "artes": ("art-crafts", "Art"),
    "artes_e_artesanato": ("art-crafts", "Arts & crafts"),
    "artigos_de_festas": ("party-seasonal", "Party supplies"),
    "artigos_de_natal": ("party-seasonal", "Christmas supplies"),
    "audio": ("audio", "Audio"),
    "automotivo": ("auto", "Auto parts"),
    "bebes": ("baby", "Baby"),
    "bebidas": ("food-drink", "Drinks"),
    "beleza_saude": ("health-beauty", "Health & beauty"),
    "brinquedos": ("toys", "Toys"),
    "cama_mesa_banho": ("bed-bath", "Bed, bath & table"),
    "casa_conforto": ("home-comfort", "Home comfort"),
    "casa_conforto_2": ("home-comfort", "Home comfort"),
    "casa_construcao": ("tools-construction", "Home construction"),
    "cds_dvds_musicais": ("music", "Music CDs & DVDs"),
    "cine_foto": ("cameras", "Cinema & photo"),
    "climatizacao": ("air-conditioning", "Air conditioning"),
    "consoles_games": ("video-games", "Consoles & games"),
    "construcao_ferramentas_construcao": ("tools-construction", "Construction tools"),
    "construcao_ferramentas_ferramentas": ("tools-construction", "Tools"),
    "construcao_ferramentas_iluminacao": ("tools-construction", "Lighting"),
    "construcao_ferramentas_jardim": ("garden", "Garden tools"),
    "construcao_ferramentas_seguranca": ("tools-construction", "Safety equipment"),
    "cool_stuff": ("cool-stuff", "Cool stuff"),
    "dvds_blu_ray": ("movies", "DVDs & Blu-ray"),
    "eletrodomesticos": ("home-appliances", "Home appliances"),
    "eletrodomesticos_2": ("home-appliances", "Home appliances"),
    "eletronicos": ("electronics", "Electronics"),
    "eletroportateis": ("small-appliances", "Small appliances"),
    "esporte_lazer": ("sports", "Sports & leisure"),
    "fashion_bolsas_e_acessorios": ("bags", "Bags & accessories"),
    "fashion_calcados": ("shoes", "Shoes"),
    "fashion_esporte": ("sportswear", "Sportswear"),
    "fashion_roupa_feminina": ("womens-clothing", "Women's clothing"),
    "fashion_roupa_infanto_juvenil": ("kids-clothing", "Kids' clothing"),
    "fashion_roupa_masculina": ("mens-clothing", "Men's clothing"),
    "fashion_underwear_e_moda_praia": ("underwear-swimwear", "Underwear & beachwear"),
    "ferramentas_jardim": ("garden", "Garden tools"),
    "flores": ("garden", "Flowers"),
    "fraldas_higiene": ("baby", "Diapers & hygiene"),
    "industria_comercio_e_negocios": ("business-industry", "Industry & business"),
    "informatica_acessorios": ("computer-accessories", "Computer accessories"),
    "instrumentos_musicais": ("musical-instruments", "Musical instruments"),
    "la_cuisine": ("kitchen", "Kitchenware"),
    "livros_importados": ("books", "Imported books"),
    "livros_interesse_geral": ("books", "Books"),
    "livros_tecnicos": ("books", "Technical books"),
    "malas_acessorios": ("bags", "Luggage"),
    "market_place": ("marketplace", "Marketplace item"),
    "moveis_colchao_e_estofado": ("furniture", "Mattresses & upholstery"),
    "moveis_cozinha_area_de_servico_jantar_e_jardim": ("furniture", "Kitchen & garden furniture"),
    "moveis_decoracao": ("decor", "Furniture & decor"),
    "moveis_escritorio": ("office-furniture", "Office furniture"),
    "moveis_quarto": ("furniture", "Bedroom furniture"),
    "moveis_sala": ("furniture", "Living-room furniture"),
    "musica": ("music", "Music"),
    "papelaria": ("office", "Stationery"),
    "pc_gamer": ("desktops", "Gaming PC"),
    "pcs": ("desktops", "Computer"),
    "perfumaria": ("perfumery", "Perfume"),
    "pet_shop": ("pet-shop", "Pet supplies"),
    "portateis_casa_forno_e_cafe": ("small-appliances", "Ovens & coffee makers"),
    "portateis_cozinha_e_preparadores_de_alimentos": ("small-appliances", "Food preparation"),
    "relogios_presentes": ("watches", "Watches & gifts"),
    "seguros_e_servicos": ("services", "Insurance & services"),
    "sinalizacao_e_seguranca": ("tools-construction", "Signs & security"),
    "tablets_impressao_imagem": ("tablets-printing", "Tablets & printing"),
    "telefonia": ("phones", "Telephony"),
    "telefonia_fixa": ("phones", "Landline phones"),
    "utilidades_domesticas": ("housewares", "Housewares"),
}


def unmapped_category(name: str, english: str | None) -> tuple[str, str]:
    """(slug, label) of a category for an Olist name this module does not know."""
    slug = "olist-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "unnamed")
    label = (english or name).replace("_", " ").strip().capitalize() or "Product"
    return slug[:64], label[:100]
