"""What feeds call things: column names, fuel, gearbox and body names, units, makes.

Every word is compared folded (`fold`): lower case, accents dropped, `-`, `_` and `/`
read as spaces. Dealers' exports across Europe say "Benzin", "essence", "gasoline" or
"Super" for petrol; they all land on one `FuelType`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from decimal import Decimal

from models.vehicle import BodyType, FuelType, Transmission
from services.vehicles.seed_vehicle_data import MAKES, MODELS

_SEPARATORS = re.compile(r"[\s\-_/]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=8192)  # feeds repeat their words: fuel, make, gearbox, unit
def fold(text: str) -> str:
    """`text` for comparison: lower case, no accents, separators as single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", plain.lower()).strip()


def column_key(header: str) -> str:
    """A header or JSON key as snake case: "Mileage (km)" and "mileageKm" -> "mileage_km"."""
    return _NOT_WORD.sub("_", fold(_CAMEL.sub("_", header.strip()))).strip("_")


def _aliases(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {alias: name for name, aliases in table.items() for alias in (name, *aliases)}


# Column (snake case) -> the field it feeds. Unknown columns are ignored.
COLUMNS: dict[str, str] = _aliases({
    "external_id": ("id", "ext_id", "stock_id", "stock_number", "listing_id", "reference", "ref"),
    "dealer_id": ("dealer",),
    "vin": ("vin_number", "chassis_number"),
    "make": ("brand", "manufacturer", "marke", "marque"),
    "model": ("model_name",),
    "trim": ("variant", "version", "trim_level"),
    "year": ("model_year",),
    "first_registration": ("registration_date", "registered", "first_registered"),
    "mileage_km": ("km", "kilometres", "kilometers", "odometer_km", "mileage_kilometres"),
    "mileage_miles": ("mileage_mi", "miles", "odometer_miles"),
    "mileage": ("odometer",),
    "mileage_unit": ("odometer_unit",),
    "fuel": ("fuel_type", "energy"),
    "transmission": ("gearbox", "transmission_type"),
    "body_type": ("body", "body_style", "bodystyle"),
    "colour": ("color", "exterior_colour", "exterior_color"),
    "power_kw": ("kw",),
    "power_hp": ("hp", "bhp"),
    "power_ps": ("ps", "cv", "ch"),
    "power": (),
    "co2_g_km": ("co2", "co2_emissions", "co2_g_per_km"),
    "location_country": ("country",),
    "location_city": ("city",),
    "price": ("asking_price", "price_amount", "price_gross"),
    "currency": ("price_currency",),
    # Pictures, fetched by the worker after the run (services/photos/feed_images.py).
    "image_urls": ("images", "image", "image_url", "photos", "photo_urls", "pictures",
                   "picture_urls", "picture"),
})  # fmt: skip

# A CSV header must have these (one of each group); a JSON line lacking one is rejected.
REQUIRED_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("external_id",), ("vin",), ("make",), ("model",), ("year",),
    ("mileage_km", "mileage_miles", "mileage"), ("fuel",), ("transmission",), ("body_type",),
    ("colour",), ("power_kw", "power_hp", "power_ps", "power"), ("location_country",),
    ("location_city",), ("price",),
)  # fmt: skip

FUELS: dict[str, FuelType] = {
    word: fuel
    for fuel, words in {
        FuelType.PETROL: ("petrol", "gasoline", "gas", "benzin", "benzine", "benzina",
                          "essence", "gasolina", "super", "unleaded", "sp95", "sp98"),
        FuelType.DIESEL: ("diesel", "gasoil", "gazole", "gasoleo", "dizel"),
        FuelType.HYBRID: ("hybrid", "hev", "full hybrid", "mild hybrid", "hybride", "ibrida",
                          "hibrido", "petrol hybrid", "hybrid petrol", "diesel hybrid",
                          "hybrid diesel", "benzin hybrid", "self charging hybrid"),
        FuelType.PLUG_IN_HYBRID: ("plug in hybrid", "plugin hybrid", "phev", "plug in",
                                  "plug in hybride", "hybride rechargeable", "ibrida plug in"),
        FuelType.ELECTRIC: ("electric", "ev", "bev", "elektro", "elektrisch", "electrique",
                            "elettrica", "electrico", "battery electric", "electricity"),
        FuelType.LPG: ("lpg", "autogas", "gpl", "glp"),
        FuelType.CNG: ("cng", "erdgas", "natural gas", "gnc", "gnv", "metano", "methane"),
    }.items()
    for word in words
}  # fmt: skip

TRANSMISSIONS: dict[str, Transmission] = {
    word: gearbox
    for gearbox, words in {
        Transmission.MANUAL: ("manual", "m", "mt", "manuell", "schaltgetriebe", "manuelle",
                              "manuale", "manueller", "stick"),
        Transmission.AUTOMATIC: ("automatic", "auto", "a", "at", "automatik", "automatique",
                                 "automatica", "automatico", "dsg", "cvt", "dct", "semi automatic"),
    }.items()
    for word in words
}  # fmt: skip

BODY_TYPES: dict[str, BodyType] = {
    word: body
    for body, words in {
        BodyType.HATCHBACK: ("hatchback", "hatch", "schragheck", "compact"),
        BodyType.SEDAN: ("sedan", "saloon", "limousine", "berline", "berlina"),
        BodyType.ESTATE: ("estate", "wagon", "station wagon", "kombi", "touring", "break",
                          "avant", "sports tourer", "sw"),
        BodyType.SUV: ("suv", "crossover", "off road", "offroad", "gelandewagen", "4x4"),
        BodyType.COUPE: ("coupe",),
        BodyType.CONVERTIBLE: ("convertible", "cabrio", "cabriolet", "roadster", "spider",
                               "spyder"),
        BodyType.MPV: ("mpv", "minivan", "people carrier", "monospace", "monovolume"),
        BodyType.PICKUP: ("pickup", "pick up"),
        BodyType.VAN: ("van", "panel van", "kastenwagen", "transporter", "fourgon"),
    }.items()
    for word in words
}  # fmt: skip

KM_PER_MILE = Decimal("1.609344")
KILOMETRE_UNITS = frozenset({"km", "kms", "kilometre", "kilometres", "kilometer", "kilometers"})
MILE_UNITS = frozenset({"mi", "mile", "miles"})
# kW per unit: mechanical horsepower, and metric horsepower (PS, CV, ch).
KW_PER_UNIT: dict[str, Decimal] = {
    "kw": Decimal(1), "hp": Decimal("0.745699872"), "bhp": Decimal("0.745699872"),
    "ps": Decimal("0.73549875"), "cv": Decimal("0.73549875"), "ch": Decimal("0.73549875"),
}  # fmt: skip

# Makes and models as the catalog spells them, by their folded name.
MAKE_NAMES: dict[str, str] = {
    **{fold(make): make for make in MAKES},
    "vw": "Volkswagen", "mercedes": "Mercedes-Benz", "mercedes benz": "Mercedes-Benz",
    "mb": "Mercedes-Benz", "alfa": "Alfa Romeo", "citroen": "Citroen",
}  # fmt: skip
MODEL_NAMES: dict[tuple[str, str], str] = {
    (spec.make, fold(spec.model)): spec.model for spec in MODELS
}
