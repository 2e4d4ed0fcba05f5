"""A deterministic sample store in Personalize's CSV formats, for trying the gateway out locally.

Shoppers have tastes (two or three categories, favourite sub-categories and brands), browse in
sessions that mostly stay within one sub-category, sometimes continue into a complementary one
(running shoes, then running apparel), put a few items in their cart and buy fewer. Item popularity
is Zipf-like. Only `random.Random(seed)` is used, so the same seed writes the same bytes everywhere.
"""

from __future__ import annotations

import csv
import random
import re
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

ITEM_COUNT = 2_400
USER_COUNT = 6_000
DAYS = 90
START_TIMESTAMP = 1_735_689_600  # 2025-01-01T00:00:00Z
DEFAULT_SEED = 2018

ITEM_COLUMNS = (
    "ITEM_ID",
    "TITLE",
    "DESCRIPTION",
    "CATEGORY",
    "SUBCATEGORY",
    "BRAND",
    "PRICE",
    "IMAGE_URL",
    "CREATION_TIMESTAMP",
)
USER_COLUMNS = ("USER_ID", "AGE", "MEMBERSHIP")
INTERACTION_COLUMNS = ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE")

_DAY = 86_400


@dataclass(frozen=True)
class _Subcategory:
    nouns: tuple[str, ...]  # from the cheapest to the dearest
    adjectives: tuple[str, ...]
    features: tuple[str, ...]
    price_dollars: tuple[int, int]


@dataclass(frozen=True)
class _Category:
    name: str
    weight: float  # how many shoppers care for it, relatively
    brands: tuple[str, ...]
    subcategories: dict[str, _Subcategory]


def _sub(nouns: str, adjectives: str, features: str, low: int, high: int) -> _Subcategory:
    return _Subcategory(
        tuple(nouns.split("/")),
        tuple(adjectives.split("/")),
        tuple(features.split("/")),
        (low, high),
    )


_CATEGORIES = (
    _Category(
        "shoes",
        1.1,
        ("Stridewell", "Northpeak", "Cobble & Co", "Velo", "Ardent"),
        {
            "running": _sub(
                "Road Runner/Trail Runner/Racing Flat/Tempo Trainer",
                "Lightweight/Cushioned/Responsive/Breathable/Carbon-Plated",
                "a breathable mesh upper/a responsive foam midsole/a reflective heel tab",
                60,
                220,
            ),
            "hiking": _sub(
                "Hiking Boot/Approach Shoe/Trekking Boot/Mid Hiker",
                "Waterproof/Rugged/Leather/Lightweight/Insulated",
                "a grippy lugged outsole/a gusseted tongue/a protective toe cap",
                80,
                260,
            ),
            "casual": _sub(
                "Sneaker/Loafer/Slip-On/Canvas Low-Top/Chelsea Boot",
                "Classic/Leather/Everyday/Suede/Minimal",
                "a removable footbed/a padded collar/a stitched rubber sole",
                40,
                180,
            ),
            "sandals": _sub(
                "Flip-Flop/Slide/Sandal/Sport Sandal",
                "Cushioned/Cork/Adjustable/Water-Ready/Braided",
                "a contoured footbed/quick-dry straps/a non-slip sole",
                20,
                110,
            ),
        },
    ),
    _Category(
        "apparel",
        1.4,
        ("Linden", "Tidewater", "Kestrel", "Marlow", "Foxglove"),
        {
            "tops": _sub(
                "Tank Top/T-Shirt/Henley/Polo/Flannel Shirt",
                "Organic/Relaxed/Slim/Soft/Garment-Dyed",
                "a tagless collar/flat-lock seams/pre-shrunk cotton",
                15,
                70,
            ),
            "outerwear": _sub(
                "Fleece/Puffer Vest/Windbreaker/Rain Jacket/Parka",
                "Packable/Insulated/Waterproof/Recycled/Heavyweight",
                "a storm hood/zippered hand pockets/taped seams",
                60,
                320,
            ),
            "bottoms": _sub(
                "Legging/Cargo Short/Jogger/Chino/Denim Jean",
                "Slim/Relaxed/Stretch/Organic/Tapered",
                "a gusseted crotch/reinforced stitching/deep pockets",
                30,
                130,
            ),
            "activewear": _sub(
                "Running Tee/Training Short/Sports Bra/Quarter-Zip/Base Layer",
                "Merino/Sweat-Wicking/Lightweight/Seamless/Reflective",
                "sweat-wicking fabric/a zipped key pocket/flat-lock seams",
                20,
                110,
            ),
        },
    ),
    _Category(
        "outdoor",
        0.8,
        ("Summit Supply", "Cairn", "Wildgrove", "Basecamp", "Bramble"),
        {
            "camping": _sub(
                "Lantern/Camp Stove/Sleeping Pad/Sleeping Bag/Dome Tent",
                "Ultralight/Four-Season/Compact/Packable/Family-Size",
                "a stuff sack/a lifetime warranty/colour-coded poles",
                25,
                480,
            ),
            "climbing": _sub(
                "Chalk Bag/Carabiner Set/Belay Device/Climbing Helmet/Harness",
                "Lightweight/Adjustable/Alpine/Certified/Rugged",
                "glove-friendly buckles/a UIAA certification/gear loops",
                15,
                160,
            ),
            "hiking gear": _sub(
                "Trail Map Case/Headlamp/Water Filter/Trekking Poles/Daypack",
                "Packable/Ultralight/Weatherproof/Compact/Rechargeable",
                "a hydration sleeve/twist-lock adjustment/a rain cover",
                15,
                180,
            ),
            "water sports": _sub(
                "Dry Bag/Snorkel Set/Rash Guard/Life Vest/Kayak Paddle",
                "Buoyant/Roll-Top/Adjustable/Quick-Dry/Float-Ready",
                "welded seams/a roll-top closure/reflective trim",
                15,
                250,
            ),
        },
    ),
    _Category(
        "kitchen",
        1.0,
        ("Copperline", "Hearth & Home", "Saltbox", "Mise", "Oakhollow"),
        {
            "cookware": _sub(
                "Skillet/Saucepan/Wok/Stockpot/Dutch Oven",
                "Nonstick/Cast-Iron/Stainless/Enamelled/Tri-Ply",
                "even heat/an oven-safe handle/an induction-ready base",
                25,
                320,
            ),
            "bakeware": _sub(
                "Muffin Tin/Loaf Pan/Baking Sheet/Cake Tin/Pie Dish",
                "Nonstick/Ceramic/Heavy-Gauge/Fluted/Springform",
                "a quick-release coating/rolled edges/a dishwasher-safe finish",
                10,
                60,
            ),
            "coffee & tea": _sub(
                "Tea Infuser/Pour-Over Set/French Press/Gooseneck Kettle/Burr Grinder",
                "Stainless/Glass/Ceramic/Electric/Insulated",
                "a precision spout/a double-walled body/a stepped burr",
                15,
                240,
            ),
            "utensils": _sub(
                "Whisk/Tongs/Spatula Set/Cutting Board/Chef's Knife",
                "Professional/Olive-Wood/Silicone/Forged/Bamboo",
                "an ergonomic handle/a full tang/heat-resistant tips",
                8,
                150,
            ),
        },
    ),
    _Category(
        "books",
        0.9,
        ("Lantern Press", "Quire Books", "Meridian House", "Folio Lane", "Inkwell"),
        {
            "fiction": _sub(
                "Mystery Novel/Family Saga/Thriller/Short Story Collection/Debut Novel",
                "Bestselling/Award-Winning/Gripping/Paperback/Hardcover",
                "a new afterword/a reading group guide/a ribbon bookmark",
                8,
                30,
            ),
            "science": _sub(
                "Guide to the Cosmos/History of Physics/Bird Field Guide/World Atlas",
                "Illustrated/Bestselling/Updated/Pocket/Annotated",
                "full-colour plates/fold-out maps/an index of terms",
                12,
                55,
            ),
            "cookbooks": _sub(
                "Baking Book/Weeknight Cookbook/Vegetable Cookbook/Bread Book",
                "Illustrated/Bestselling/Seasonal/Family/Hardcover",
                "step-by-step photographs/120 tested recipes/a lay-flat binding",
                15,
                45,
            ),
            "children": _sub(
                "Picture Book/Bedtime Story Book/Activity Book/First Reader",
                "Illustrated/Rhyming/Lift-the-Flap/Board/Award-Winning",
                "sturdy pages/bright illustrations/a read-aloud rhythm",
                6,
                25,
            ),
        },
    ),
    _Category(
        "toys",
        0.8,
        ("Brightblock", "Pip & Pebble", "Tinkerly", "Wonderwood", "Zoomi"),
        {
            "building": _sub(
                "Brick Bucket/Block Set/Construction Kit/Marble Run",
                "Wooden/Magnetic/Deluxe/Starter/Glow-in-the-Dark",
                "non-toxic paints/rounded edges/a storage tub",
                15,
                120,
            ),
            "puzzles": _sub(
                "Jigsaw Puzzle/Brain Teaser/3D Puzzle/Floor Puzzle",
                "1000-Piece/Wooden/Glow-in-the-Dark/Mini/Panoramic",
                "a poster of the finished picture/thick pieces/a sorting tray",
                8,
                45,
            ),
            "plush": _sub(
                "Bunny/Plush Fox/Plush Whale/Plush Dinosaur/Teddy Bear",
                "Cuddly/Mini/Jumbo/Weighted/Organic",
                "embroidered eyes/machine-washable fur/a gift tag",
                8,
                60,
            ),
            "board games": _sub(
                "Strategy Game/Card Game/Family Board Game/Dice Game",
                "Cooperative/Classic/Deluxe/Travel/Party",
                "a two-player mode/quick 20-minute rounds/a fold-out board",
                10,
                70,
            ),
        },
    ),
    _Category(
        "electronics",
        1.3,
        ("Voltaic", "Clearwave", "Nimbus", "Quanta", "Arclight"),
        {
            "audio": _sub(
                "Earbuds/Bluetooth Speaker/Headphones/Soundbar",
                "Wireless/Noise-Cancelling/Portable/Studio/Waterproof",
                "long battery life/a companion app/multipoint pairing",
                30,
                450,
            ),
            "phone accessories": _sub(
                "USB-C Cable/Phone Case/Car Mount/Charging Pad/Power Bank",
                "Fast-Charging/Slim/Magnetic/Braided/Rugged",
                "fast charging/a drop-tested shell/a two-year warranty",
                10,
                90,
            ),
            "computing": _sub(
                "USB Hub/Mouse/Webcam/Keyboard/Monitor",
                "Wireless/Mechanical/Ergonomic/4K/Compact",
                "a USB-C connection/a two-year warranty/plug-and-play set-up",
                20,
                700,
            ),
            "wearables": _sub(
                "Heart-Rate Strap/Sleep Band/Fitness Tracker/Smartwatch",
                "Smart/Waterproof/Slim/GPS/Solar",
                "week-long battery life/built-in GPS/a companion app",
                40,
                450,
            ),
        },
    ),
    _Category(
        "beauty",
        1.0,
        ("Petal & Stone", "Lumen", "Verdant", "Auric", "Seaglass"),
        {
            "skincare": _sub(
                "Face Serum/Moisturiser/Cleanser/Sunscreen/Eye Cream",
                "Hydrating/Fragrance-Free/Vegan/Gentle/Brightening",
                "hyaluronic acid/no added parabens/dermatologist testing",
                8,
                90,
            ),
            "haircare": _sub(
                "Shampoo/Conditioner/Hair Oil/Styling Cream/Hair Mask",
                "Nourishing/Sulphate-Free/Volumising/Travel-Size/Repairing",
                "argan oil/a pump bottle/recyclable packaging",
                6,
                45,
            ),
            "makeup": _sub(
                "Lip Tint/Mascara/Foundation/Blush Palette/Brow Pencil",
                "Long-Wear/Vegan/Matte/Sheer/Buildable",
                "a buildable finish/a mirror compact/a precision tip",
                8,
                60,
            ),
            "fragrance": _sub(
                "Eau de Parfum/Body Mist/Solid Perfume/Scented Oil",
                "Floral/Woody/Citrus/Amber/Fresh",
                "notes of cedar and bergamot/a refillable bottle/a travel atomiser",
                18,
                150,
            ),
        },
    ),
    _Category(
        "home",
        1.2,
        ("Hollis", "Larchmont", "Nestwell", "Driftwood", "Ambergate"),
        {
            "bedding": _sub(
                "Pillowcase Pair/Fitted Sheet/Throw Blanket/Duvet Cover/Quilt",
                "Linen/Percale/Handwoven/Velvet/Organic Cotton",
                "a washable cover/hidden button closures/stonewashed softness",
                20,
                260,
            ),
            "lighting": _sub(
                "String Lights/Table Lamp/Pendant Light/Floor Lamp",
                "Minimalist/Rustic/Rattan/Dimmable/Brass",
                "a dimmable switch/a linen shade/a braided cord",
                20,
                300,
            ),
            "decor": _sub(
                "Candle Holder/Picture Frame/Vase/Wall Print/Wall Mirror",
                "Ceramic/Scandinavian/Rustic/Handmade/Minimalist",
                "a hand-glazed finish/solid oak details/ready-to-hang fixings",
                12,
                220,
            ),
            "storage": _sub(
                "Drawer Organiser/Storage Basket/Coat Rack/Shelf Unit",
                "Woven/Stackable/Oak/Wall-Mounted/Modular",
                "easy assembly/responsibly sourced wood/carry handles",
                15,
                350,
            ),
        },
    ),
    _Category(
        "sports",
        0.9,
        ("Apex Athletic", "Ironside", "Fairway", "Pacer", "Goalline"),
        {
            "fitness": _sub(
                "Resistance Bands/Foam Roller/Yoga Mat/Kettlebell/Dumbbell Pair",
                "Non-Slip/Adjustable/Training/Eco/Heavy-Duty",
                "a non-slip surface/a carry strap/a printed exercise guide",
                15,
                300,
            ),
            "cycling": _sub(
                "Bottle Cage/Saddle Bag/Cycling Gloves/Bike Light/Bike Helmet",
                "Aero/Rechargeable/Lightweight/Padded/Reflective",
                "USB charging/a quick-release mount/MIPS protection",
                12,
                220,
            ),
            "team sports": _sub(
                "Training Cones/Shin Guards/Football/Basketball/Goalkeeper Gloves",
                "Match/Training/Competition/Junior/Indoor",
                "tournament-grade materials/a butyl bladder/a mesh carry bag",
                10,
                120,
            ),
            "racket sports": _sub(
                "Grip Tape/Ball Tube/Racket Bag/Padel Racket/Tennis Racket",
                "Pro/Lightweight/Control/Power/Graphite",
                "a sweat-wicking grip/a protective cover/a balanced frame",
                8,
                260,
            ),
        },
    ),
    _Category(
        "garden",
        0.6,
        ("Greenthumb", "Fernhill", "Rootstock", "Meadowlark", "Potting Shed"),
        {
            "tools": _sub(
                "Trowel/Hori-Hori Knife/Pruning Shears/Rake/Garden Fork",
                "Heavy-Duty/Ergonomic/Stainless/Forged/Ash-Handled",
                "rust-resistant steel/a cushioned grip/a hanging hole",
                12,
                90,
            ),
            "planters": _sub(
                "Terracotta Pot/Hanging Basket/Window Box/Raised Bed",
                "Galvanised/Self-Watering/Cedar/Weatherproof/Glazed",
                "drainage holes/UV-stable materials/a built-in saucer",
                10,
                250,
            ),
            "seeds": _sub(
                "Tomato Seeds/Herb Seed Kit/Wildflower Mix/Salad Seeds/Sunflower Seeds",
                "Organic/Heirloom/Pollinator-Friendly/Easy-Grow/Dwarf",
                "a sowing calendar/high germination rates/a resealable packet",
                3,
                25,
            ),
            "watering": _sub(
                "Spray Nozzle/Watering Can/Soaker Hose/Hose Reel/Rain Barrel",
                "Galvanised/Expandable/Foldable/Heavy-Duty/Adjustable",
                "brass fittings/a kink-free hose/a fine rose head",
                10,
                180,
            ),
        },
    ),
    _Category(
        "jewelry",
        0.5,
        ("Aurelia", "Silverbirch", "Opaline", "Northstar", "Gilded Fern"),
        {
            "necklaces": _sub(
                "Choker/Chain Necklace/Pendant Necklace/Locket",
                "Sterling Silver/Gold-Plated/Handmade/Minimal/Vintage",
                "an adjustable chain/a gift box/a lobster clasp",
                25,
                400,
            ),
            "rings": _sub(
                "Stacking Ring/Band Ring/Signet Ring/Cocktail Ring",
                "Sterling Silver/Gold-Plated/Engraved/Hammered/Minimal",
                "a polishing cloth/a gift box/a comfort-fit band",
                20,
                450,
            ),
            "earrings": _sub(
                "Ear Cuff/Stud Earrings/Hoop Earrings/Drop Earrings",
                "Sterling Silver/Gold-Plated/Pearl/Minimal/Vintage",
                "hypoallergenic posts/a gift box/secure butterfly backs",
                18,
                300,
            ),
            "watches": _sub(
                "Field Watch/Dive Watch/Dress Watch/Chronograph",
                "Automatic/Vintage/Minimal/Steel/Solar",
                "sapphire crystal/a leather strap/100 m water resistance",
                80,
                900,
            ),
        },
    ),
)

# Shoppers who browse the first sub-category often continue into the second.
_COMPLEMENTS = (
    (("shoes", "running"), ("apparel", "activewear")),
    (("shoes", "hiking"), ("outdoor", "hiking gear")),
    (("outdoor", "camping"), ("kitchen", "coffee & tea")),
    (("apparel", "outerwear"), ("outdoor", "hiking gear")),
    (("sports", "fitness"), ("electronics", "wearables")),
    (("sports", "cycling"), ("electronics", "wearables")),
    (("kitchen", "bakeware"), ("books", "cookbooks")),
    (("kitchen", "cookware"), ("books", "cookbooks")),
    (("toys", "puzzles"), ("books", "children")),
    (("toys", "board games"), ("toys", "puzzles")),
    (("home", "bedding"), ("home", "lighting")),
    (("home", "decor"), ("garden", "planters")),
    (("garden", "seeds"), ("garden", "tools")),
    (("beauty", "skincare"), ("beauty", "makeup")),
    (("jewelry", "necklaces"), ("jewelry", "earrings")),
    (("electronics", "computing"), ("electronics", "phone accessories")),
    (("apparel", "tops"), ("apparel", "bottoms")),
    (("outdoor", "climbing"), ("apparel", "activewear")),
)

_PROPER_NOUNS = frozenset({"Bluetooth"})
_MEMBERSHIPS = (("basic", 6), ("plus", 3), ("premium", 1))
_DESCRIPTIONS = (
    "{adjective} {noun_lower} from {brand}, with {feature}. {closing}",
    "{article} {adjective_lower} {noun_lower} by {brand}, featuring {feature}. {closing}",
)
_CLOSINGS = (
    "A customer favourite.",
    "Built to last.",
    "Makes a thoughtful gift.",
    "New this season.",
    "Ships in recyclable packaging.",
    "Rated highly by our shoppers.",
)


@dataclass(frozen=True, slots=True)
class _Item:
    index: int
    category: int
    subcategory: str
    brand: str


@dataclass(frozen=True, slots=True)
class _Shelf:
    """The items of one sub-category and how likely each is to be picked."""

    items: tuple[_Item, ...]
    cumulative_weights: tuple[float, ...]
    complement: tuple[int, str] | None
    siblings: tuple[tuple[int, str], ...]  # the other sub-categories of its category


def write_sample_dataset(
    directory: Path,
    *,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Write items.csv, users.csv and interactions.csv of the sample store into `directory`."""
    rng = random.Random(seed)
    report = progress or _ignore
    directory.mkdir(parents=True, exist_ok=True)
    items = _write_items(directory / "items.csv", rng, report)
    shelves = _build_shelves(items, rng)
    _write_users_and_interactions(directory, rng, shelves, report)


def _ignore(message: str) -> None:
    pass


def _write_items(path: Path, rng: random.Random, report: Callable[[str], None]) -> list[_Item]:
    counts = _split(ITEM_COUNT, len(_CATEGORIES))
    specs: list[tuple[int, str, str, str, str]] = []
    titles: set[tuple[str, str, str]] = set()
    for category_index, (category, count) in enumerate(zip(_CATEGORIES, counts, strict=True)):
        names = list(category.subcategories)
        for position in range(count):
            subcategory = names[position % len(names)]
            brand, adjective, noun = _name(rng, category, subcategory, titles)
            specs.append((category_index, subcategory, brand, adjective, noun))
    rng.shuffle(specs)

    items: list[_Item] = []
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(ITEM_COLUMNS)
        for index, (category_index, subcategory, brand, adjective, noun) in enumerate(specs):
            category = _CATEGORIES[category_index]
            details = category.subcategories[subcategory]
            item_id = _item_id(index)
            low, high = details.price_dollars
            # Dearer nouns cost more; squaring keeps most prices near the low end.
            tier = (details.nouns.index(noun) + rng.random()) / len(details.nouns)
            cents = (low + int((high - low) * tier * tier)) * 100
            cents += rng.choice((99, 99, 99, 49, 0)) - (100 if cents > low * 100 else 0)
            adjective_lower = _lower(adjective)
            description = rng.choice(_DESCRIPTIONS).format(
                article="An" if adjective_lower[0] in "aeiou" else "A",
                adjective=adjective_lower[0].upper() + adjective_lower[1:],
                adjective_lower=adjective_lower,
                noun_lower=_lower(noun),
                brand=brand,
                feature=rng.choice(details.features),
                closing=rng.choice(_CLOSINGS),
            )
            writer.writerow(
                (
                    item_id,
                    f"{brand} {adjective} {noun}",
                    description,
                    category.name,
                    subcategory,
                    brand,
                    f"{cents // 100}.{cents % 100:02d}",
                    f"/images/items/{item_id}.svg",
                    START_TIMESTAMP - rng.randrange(730 * _DAY),
                )
            )
            items.append(_Item(index, category_index, subcategory, brand))
    report(f"items {len(items)}/{ITEM_COUNT}")
    return items


def _name(
    rng: random.Random, category: _Category, subcategory: str, taken: set[tuple[str, str, str]]
) -> tuple[str, str, str]:
    """Brand, adjective and noun of a new item, avoiding titles already taken when it can."""
    details = category.subcategories[subcategory]
    for _ in range(30):
        brand = rng.choice(category.brands)
        adjective = rng.choice(details.adjectives)
        noun = rng.choice(details.nouns)
        if (brand, adjective, noun) not in taken:
            break
    taken.add((brand, adjective, noun))
    return brand, adjective, noun


def _lower(phrase: str) -> str:
    """Lower-case the capitalised words of a phrase, keeping acronyms such as USB-C or 4K."""
    words = re.split(r"([ -])", phrase)
    return "".join(
        word.lower() if word[1:].islower() and word not in _PROPER_NOUNS else word for word in words
    )


def _build_shelves(items: list[_Item], rng: random.Random) -> dict[tuple[int, str], _Shelf]:
    # Zipf-like popularity: the item at popularity rank r is picked in proportion to 1 / (r + 8).
    ranks = list(range(len(items)))
    rng.shuffle(ranks)
    by_shelf: dict[tuple[int, str], list[_Item]] = {}
    for item in items:
        by_shelf.setdefault((item.category, item.subcategory), []).append(item)
    names = {category.name: index for index, category in enumerate(_CATEGORIES)}
    complements = {(names[a], sa): (names[b], sb) for (a, sa), (b, sb) in _COMPLEMENTS}
    shelves: dict[tuple[int, str], _Shelf] = {}
    for key, shelf_items in by_shelf.items():
        weights = [1.0 / (ranks[item.index] + 8) for item in shelf_items]
        siblings = tuple(other for other in sorted(by_shelf) if other[0] == key[0] and other != key)
        shelves[key] = _Shelf(
            tuple(shelf_items), tuple(accumulate(weights)), complements.get(key), siblings
        )
    return shelves


@dataclass(frozen=True, slots=True)
class _Taste:
    shelves: tuple[tuple[int, str], ...]
    cumulative_weights: tuple[float, ...]
    brands: frozenset[str]


def _taste(rng: random.Random, age: int) -> _Taste:
    weights = [category.weight for category in _CATEGORIES]
    # A light touch of age: the young lean to apparel and electronics, their elders to the garden.
    youth = (45 - age) / 30
    for name, lean in (
        ("apparel", 0.4),
        ("electronics", 0.4),
        ("beauty", 0.2),
        ("toys", -0.2),
        ("home", -0.3),
        ("garden", -0.4),
        ("books", -0.2),
    ):
        index = next(i for i, category in enumerate(_CATEGORIES) if category.name == name)
        weights[index] = max(0.1, weights[index] * (1 + lean * youth))
    chosen: list[int] = []
    while len(chosen) < 2 + (rng.random() < 0.4):
        index = _pick(rng, list(accumulate(weights)))
        if index not in chosen:
            chosen.append(index)
    shelves: list[tuple[int, str]] = []
    shelf_weights: list[float] = []
    brands: set[str] = set()
    for rank, category_index in enumerate(chosen):
        category = _CATEGORIES[category_index]
        subcategories = list(category.subcategories)
        rng.shuffle(subcategories)
        favourites = 1 + (rng.random() < 0.5)
        for position, subcategory in enumerate(subcategories[:favourites]):
            shelves.append((category_index, subcategory))
            shelf_weights.append((3.0 if position == 0 else 1.5) / (rank + 1))
        brands.update(rng.sample(category.brands, 2))
    return _Taste(tuple(shelves), tuple(accumulate(shelf_weights)), frozenset(brands))


def _write_users_and_interactions(
    directory: Path,
    rng: random.Random,
    shelves: dict[tuple[int, str], _Shelf],
    report: Callable[[str], None],
) -> None:
    shelf_keys = sorted(shelves)
    shelf_cumulative = list(accumulate(_CATEGORIES[category].weight for category, _ in shelf_keys))
    events: list[tuple[int, int, int, int]] = []  # (timestamp, user, item, event type)
    users: list[tuple[str, int, str]] = []
    membership_cumulative = list(accumulate(weight for _, weight in _MEMBERSHIPS))
    window = DAYS * _DAY
    for user in range(USER_COUNT):
        age = 18 + int(28 * (rng.random() + rng.random()))
        membership = _MEMBERSHIPS[_pick(rng, membership_cumulative)][0]
        users.append((_user_id(user), age, membership))
        taste = _taste(rng, age)
        activity = rng.random()
        sessions = 2 + int(22 * activity * activity)
        starts = sorted(START_TIMESTAMP + rng.randrange(window - _DAY) for _ in range(sessions))
        history: list[int] = []
        clock = 0
        for start in starts:
            if rng.random() < 0.8:
                shelf = shelves[taste.shelves[_pick(rng, taste.cumulative_weights)]]
            else:
                shelf = shelves[shelf_keys[_pick(rng, shelf_cumulative)]]
            # Visits do not overlap: at least half an hour between them.
            start = max(start, clock + 1_800)
            clock = _browse(rng, user, start, shelf, shelves, taste.brands, history, events)
        if (user + 1) % 2_000 == 0:
            report(f"users {user + 1}/{USER_COUNT}")

    with (directory / "users.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(USER_COLUMNS)
        writer.writerows(users)

    events.sort()
    event_types = ("view", "cart", "purchase")
    with (directory / "interactions.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(INTERACTION_COLUMNS)
        writer.writerows(
            (_user_id(user), _item_id(item), timestamp, event_types[kind])
            for timestamp, user, item, kind in events
        )
    report(f"interactions {len(events)}/{len(events)}")


def _browse(
    rng: random.Random,
    user: int,
    start: int,
    shelf: _Shelf,
    shelves: dict[tuple[int, str], _Shelf],
    brands: frozenset[str],
    history: list[int],
    events: list[tuple[int, int, int, int]],
) -> int:
    """One visit: views within a shelf, perhaps a complementary one, perhaps a cart and purchase.

    Returns the time the visit ended.
    """
    clock = start
    viewed: list[int] = []
    if history and rng.random() < 0.2:
        # Back for something seen on an earlier visit.
        viewed.append(history[-1 - rng.randrange(min(len(history), 10))])
        events.append((clock, user, viewed[-1], 0))
        clock += 20 + rng.randrange(120)
    views = 1 + _pick(rng, (0.22, 0.42, 0.58, 0.70, 0.80, 0.88, 0.94, 1.0))
    for view in range(views):
        if view and rng.random() < 0.12:
            shelf = shelves[rng.choice(shelf.siblings)]
        item = _choose(rng, shelf, brands, viewed)
        viewed.append(item)
        events.append((clock, user, item, 0))
        clock += 15 + rng.randrange(180)
    if shelf.complement is not None and rng.random() < 0.35:
        other = shelves[shelf.complement]
        for _ in range(1 + rng.randrange(3)):
            item = _choose(rng, other, brands, viewed)
            viewed.append(item)
            events.append((clock, user, item, 0))
            clock += 15 + rng.randrange(180)
    if rng.random() < 0.3:
        item = viewed[-1 - rng.randrange(len(viewed))]
        clock += 10 + rng.randrange(60)
        events.append((clock, user, item, 1))
        if rng.random() < 0.55:
            clock += 60 + rng.randrange(600)
            events.append((clock, user, item, 2))
    history.extend(viewed)
    return clock


def _choose(rng: random.Random, shelf: _Shelf, brands: frozenset[str], viewed: list[int]) -> int:
    """An item of the shelf, by popularity, favouring the shopper's brands and fresh items."""
    item = shelf.items[_pick(rng, shelf.cumulative_weights)]
    for _ in range(3):
        if item.index not in viewed and (item.brand in brands or rng.random() < 0.5):
            break
        item = shelf.items[_pick(rng, shelf.cumulative_weights)]
    return item.index


def _pick(rng: random.Random, cumulative_weights: Sequence[float]) -> int:
    return bisect(
        cumulative_weights, rng.random() * cumulative_weights[-1], 0, len(cumulative_weights) - 1
    )


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (index < total % parts) for index in range(parts)]


def _item_id(index: int) -> str:
    return f"i-{index + 1:05d}"


def _user_id(index: int) -> str:
    return f"u-{index + 1:05d}"
