"""Reference data for demo vehicles: makes, models and trims, colours, usage and age.

Trim prices are list prices in whole euros for the current model year; powers (kW) and
CO2 (WLTP g/km, 0 for electric) are those of the real trims, rounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.vehicle import BodyType, FuelType


@dataclass(frozen=True, slots=True)
class TrimSpec:
    name: str
    fuel: FuelType
    power_kw: int
    co2_g_km: int
    price_eur: int
    automatic_share: float


@dataclass(frozen=True, slots=True)
class ModelSpec:
    make: str
    model: str
    body_type: BodyType
    first_year: int
    last_year: int | None  # None: still on sale
    popularity: int  # relative share of the used-car stock
    trims: tuple[TrimSpec, ...]
    wmi: str | None = None  # overrides the make's WMI when the model is built elsewhere


@dataclass(frozen=True, slots=True)
class MakeSpec:
    wmi: str  # world manufacturer identifier: VIN positions 1-3
    home_country: str | None  # buyers favour home brands: a bonus in that market


MAKES: dict[str, MakeSpec] = {
    "Volkswagen": MakeSpec("WVW", "DE"),
    "BMW": MakeSpec("WBA", "DE"),
    "Mercedes-Benz": MakeSpec("WDD", "DE"),
    "Audi": MakeSpec("WAU", "DE"),
    "Opel": MakeSpec("W0L", "DE"),
    "Ford": MakeSpec("WF0", None),
    "Renault": MakeSpec("VF1", "FR"),
    "Peugeot": MakeSpec("VF3", "FR"),
    "Citroen": MakeSpec("VF7", "FR"),
    "Dacia": MakeSpec("UU1", None),
    "Fiat": MakeSpec("ZFA", "IT"),
    "Alfa Romeo": MakeSpec("ZAR", "IT"),
    "Skoda": MakeSpec("TMB", "CZ"),
    "Seat": MakeSpec("VSS", "ES"),
    "Cupra": MakeSpec("VSS", "ES"),
    "Toyota": MakeSpec("VNK", None),
    "Hyundai": MakeSpec("TMA", None),
    "Kia": MakeSpec("U5Y", None),
    "Volvo": MakeSpec("YV1", "SE"),
    "Tesla": MakeSpec("5YJ", None),
    "Nissan": MakeSpec("SJN", None),
    "Mazda": MakeSpec("JMZ", None),
    "MG": MakeSpec("LSJ", None),
}

T = TrimSpec
P, D, H, PH = FuelType.PETROL, FuelType.DIESEL, FuelType.HYBRID, FuelType.PLUG_IN_HYBRID
E, L, C = FuelType.ELECTRIC, FuelType.LPG, FuelType.CNG
HB, SD, ES, SUV = BodyType.HATCHBACK, BodyType.SEDAN, BodyType.ESTATE, BodyType.SUV
MPV, CP, CV = BodyType.MPV, BodyType.COUPE, BodyType.CONVERTIBLE
PU, VAN = BodyType.PICKUP, BodyType.VAN

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("Volkswagen", "Golf", HB, 2012, None, 30, (
        T("1.0 TSI Life", P, 81, 121, 29_500, 0.2), T("1.5 TSI Style", P, 110, 132, 35_900, 0.6),
        T("2.0 TDI Style", D, 110, 118, 38_400, 0.8), T("GTI", P, 195, 165, 46_700, 0.9),
        T("1.5 eHybrid Style", PH, 150, 20, 44_900, 1.0),
    )),
    ModelSpec("Volkswagen", "Polo", HB, 2012, None, 20, (
        T("1.0 Life", P, 59, 118, 21_200, 0.05), T("1.0 TSI Style", P, 70, 120, 25_400, 0.4),
        T("GTI", P, 152, 152, 33_500, 1.0),
    )),
    ModelSpec("Volkswagen", "Passat", ES, 2012, None, 14, (
        T("2.0 TDI Business", D, 110, 128, 47_000, 0.9),
        T("1.5 eTSI Elegance", P, 110, 142, 49_500, 1.0),
        T("1.5 eHybrid Elegance", PH, 150, 14, 55_900, 1.0),
    )),
    ModelSpec("Volkswagen", "Tiguan", SUV, 2012, None, 18, (
        T("1.5 eTSI Life", P, 110, 150, 41_900, 0.9),
        T("2.0 TDI 4Motion R-Line", D, 142, 159, 55_600, 1.0),
        T("1.5 eHybrid Elegance", PH, 150, 18, 52_500, 1.0),
    ), wmi="WVG"),
    ModelSpec("Volkswagen", "T-Roc", SUV, 2018, None, 14, (
        T("1.0 TSI Life", P, 85, 132, 29_900, 0.1), T("1.5 TSI Style", P, 110, 139, 36_600, 0.7),
    ), wmi="WVG"),
    ModelSpec("Volkswagen", "ID.3", HB, 2020, None, 10, (
        T("Pro", E, 150, 0, 39_995, 1.0), T("Pro S", E, 170, 0, 45_995, 1.0),
    )),
    ModelSpec("Volkswagen", "ID.4", SUV, 2021, None, 9, (
        T("Pro", E, 210, 0, 46_335, 1.0), T("GTX", E, 250, 0, 54_835, 1.0),
    ), wmi="WVG"),
    ModelSpec("BMW", "3 Series", SD, 2012, None, 18, (
        T("318i", P, 115, 143, 44_900, 0.9), T("320d", D, 140, 124, 50_200, 1.0),
        T("330e M Sport", PH, 215, 30, 58_900, 1.0), T("M340i xDrive", P, 275, 187, 71_500, 1.0),
    )),
    ModelSpec("BMW", "1 Series", HB, 2012, None, 12, (
        T("118i", P, 115, 136, 35_200, 0.8), T("120d", D, 120, 120, 40_100, 1.0),
    )),
    ModelSpec("BMW", "X1", SUV, 2012, None, 12, (
        T("sDrive18i", P, 100, 146, 43_700, 1.0), T("xDrive23d", D, 145, 140, 53_900, 1.0),
        T("iX1 xDrive30", E, 230, 0, 55_000, 1.0),
    )),
    ModelSpec("BMW", "5 Series", SD, 2012, None, 8, (
        T("520d", D, 145, 130, 62_300, 1.0), T("530e", PH, 220, 22, 70_900, 1.0),
    )),
    ModelSpec("Mercedes-Benz", "A-Class", HB, 2012, None, 12, (
        T("A 180", P, 100, 133, 35_800, 0.9), T("A 200 d", D, 110, 119, 41_000, 1.0),
        T("A 250 e", PH, 160, 18, 46_900, 1.0),
    )),
    ModelSpec("Mercedes-Benz", "C-Class", SD, 2012, None, 16, (
        T("C 200", P, 150, 150, 51_800, 1.0), T("C 220 d AMG Line", D, 147, 130, 57_600, 1.0),
        T("C 300 e", PH, 230, 16, 63_000, 1.0),
    )),
    ModelSpec("Mercedes-Benz", "GLC", SUV, 2016, None, 10, (
        T("GLC 220 d 4MATIC", D, 145, 155, 62_900, 1.0),
        T("GLC 300 e 4MATIC", PH, 230, 16, 71_600, 1.0),
    )),
    ModelSpec("Audi", "A3", HB, 2012, None, 14, (
        T("30 TFSI", P, 81, 125, 33_800, 0.4), T("35 TDI S line", D, 110, 117, 41_700, 1.0),
        T("40 TFSI e", PH, 150, 20, 45_600, 1.0),
    )),
    ModelSpec("Audi", "A4", ES, 2012, None, 14, (
        T("35 TFSI", P, 110, 148, 45_400, 1.0),
        T("40 TDI quattro S line", D, 150, 142, 56_800, 1.0),
    )),
    ModelSpec("Audi", "Q5", SUV, 2012, None, 9, (
        T("40 TDI quattro", D, 150, 170, 60_500, 1.0),
        T("55 TFSI e quattro", PH, 270, 44, 70_200, 1.0),
    )),
    ModelSpec("Opel", "Corsa", HB, 2012, None, 16, (
        T("1.2 Edition", P, 55, 122, 19_900, 0.0), T("1.2 Turbo GS", P, 74, 124, 24_700, 0.4),
        T("Electric", E, 100, 0, 34_650, 1.0),
    )),
    ModelSpec("Opel", "Astra", HB, 2012, None, 11, (
        T("1.2 Turbo Edition", P, 81, 130, 27_500, 0.3),
        T("1.5 Diesel Elegance", D, 96, 119, 32_900, 0.7),
    )),
    ModelSpec("Ford", "Fiesta", HB, 2012, 2023, 14, (
        T("1.1 Trend", P, 55, 126, 18_400, 0.0),
        T("1.0 EcoBoost Titanium", P, 74, 118, 22_900, 0.2), T("ST", P, 147, 144, 29_600, 0.0),
    )),
    ModelSpec("Ford", "Focus", HB, 2012, 2025, 14, (
        T("1.0 EcoBoost Titanium", P, 92, 125, 29_300, 0.3),
        T("1.5 EcoBlue ST-Line", D, 88, 115, 33_900, 0.6), T("ST", P, 206, 179, 40_500, 0.4),
    )),
    ModelSpec("Ford", "Kuga", SUV, 2013, None, 9, (
        T("1.5 EcoBoost Titanium", P, 110, 154, 35_600, 0.5),
        T("2.5 PHEV ST-Line", PH, 165, 25, 45_900, 1.0),
    )),
    ModelSpec("Renault", "Clio", HB, 2012, None, 22, (
        T("TCe 90 Evolution", P, 67, 118, 19_900, 0.0),
        T("E-Tech full hybrid 145 Esprit Alpine", H, 105, 96, 26_900, 1.0),
        T("Blue dCi 100", D, 74, 98, 22_500, 0.0), T("TCe 100 LPG", L, 74, 106, 21_300, 0.0),
    )),
    ModelSpec("Renault", "Captur", SUV, 2013, None, 13, (
        T("TCe 90 Evolution", P, 67, 128, 24_900, 0.0),
        T("E-Tech full hybrid 145", H, 105, 105, 31_300, 1.0),
    )),
    ModelSpec("Renault", "Megane", HB, 2012, None, 9, (
        T("TCe 140 Techno", P, 103, 139, 29_900, 0.5),
        T("E-Tech Electric EV60", E, 160, 0, 41_400, 1.0),
    )),
    ModelSpec("Renault", "Zoe", HB, 2013, 2024, 6, (
        T("R110 Life", E, 80, 0, 32_400, 1.0), T("R135 Intens", E, 100, 0, 35_900, 1.0),
    )),
    ModelSpec("Peugeot", "208", HB, 2012, None, 22, (
        T("PureTech 75 Active", P, 55, 126, 19_600, 0.0),
        T("PureTech 100 Allure", P, 74, 123, 24_300, 0.3), T("e-208 GT", E, 115, 0, 38_100, 1.0),
    )),
    ModelSpec("Peugeot", "308", HB, 2012, None, 12, (
        T("PureTech 130 Allure", P, 96, 132, 32_000, 0.6),
        T("BlueHDi 130 GT", D, 96, 115, 35_600, 1.0),
        T("Hybrid 180 e-EAT8", PH, 133, 25, 43_100, 1.0),
    )),
    ModelSpec("Peugeot", "3008", SUV, 2012, None, 12, (
        T("PureTech 130 Allure", P, 96, 140, 36_300, 0.7),
        T("BlueHDi 130 Allure", D, 96, 124, 38_500, 1.0),
        T("Hybrid4 300", PH, 220, 29, 51_500, 1.0),
    )),
    ModelSpec("Citroen", "C3", HB, 2012, None, 14, (
        T("PureTech 83 Feel", P, 61, 127, 18_900, 0.0),
        T("BlueHDi 100 Shine", D, 75, 105, 22_400, 0.0), T("e-C3 Max", E, 83, 0, 26_990, 1.0),
    )),
    ModelSpec("Citroen", "C5 Aircross", SUV, 2019, None, 7, (
        T("PureTech 130 Feel", P, 96, 143, 32_400, 0.5),
        T("Hybrid 225 Shine", PH, 165, 31, 43_900, 1.0),
    )),
    ModelSpec("Dacia", "Sandero", HB, 2012, None, 16, (
        T("SCe 65 Essential", P, 49, 131, 12_990, 0.0),
        T("TCe 100 ECO-G Stepway", L, 74, 114, 17_200, 0.0),
        T("TCe 90 Expression", P, 67, 120, 15_100, 0.2),
    )),
    ModelSpec("Dacia", "Duster", SUV, 2012, None, 15, (
        T("TCe 130 Expression", P, 96, 130, 21_900, 0.0),
        T("Blue dCi 115 4x4 Prestige", D, 85, 140, 25_500, 0.0),
        T("ECO-G 100", L, 74, 125, 19_990, 0.0), T("Hybrid 140 Journey", H, 104, 113, 26_990, 1.0),
    )),
    ModelSpec("Fiat", "500", HB, 2012, None, 16, (
        T("1.0 Hybrid Dolcevita", H, 51, 110, 17_990, 0.0),
        T("1.2 Lounge", P, 51, 119, 15_900, 0.2), T("500e La Prima", E, 87, 0, 34_990, 1.0),
    )),
    ModelSpec("Fiat", "Panda", HB, 2012, None, 12, (
        T("1.0 Hybrid City Life", H, 51, 112, 15_490, 0.0), T("1.2 Easy", P, 51, 125, 12_900, 0.0),
        T("0.9 TwinAir Natural Power", C, 59, 86, 14_900, 0.0),
    )),
    ModelSpec("Alfa Romeo", "Giulia", SD, 2016, None, 3, (
        T("2.2 Diesel Veloce", D, 154, 137, 52_500, 1.0),
        T("2.9 V6 Quadrifoglio", P, 382, 250, 94_000, 1.0),
    )),
    ModelSpec("Skoda", "Octavia", ES, 2012, None, 20, (
        T("1.5 TSI Ambition", P, 110, 130, 32_300, 0.4),
        T("2.0 TDI Style", D, 110, 113, 37_400, 0.8), T("RS 2.0 TSI", P, 195, 163, 47_200, 1.0),
        T("1.4 TSI iV", PH, 150, 27, 42_300, 1.0),
    )),
    ModelSpec("Skoda", "Fabia", HB, 2012, None, 12, (
        T("1.0 MPI Essence", P, 59, 119, 17_900, 0.0), T("1.0 TSI Style", P, 85, 118, 23_500, 0.5),
    )),
    ModelSpec("Skoda", "Kodiaq", SUV, 2017, None, 8, (
        T("1.5 TSI Selection", P, 110, 155, 42_100, 1.0),
        T("2.0 TDI 4x4 Sportline", D, 142, 162, 52_800, 1.0),
    )),
    ModelSpec("Skoda", "Enyaq", SUV, 2021, None, 6, (
        T("85", E, 210, 0, 48_900, 1.0), T("Coupé RS", E, 250, 0, 58_500, 1.0),
    )),
    ModelSpec("Seat", "Ibiza", HB, 2012, None, 12, (
        T("1.0 MPI Reference", P, 59, 122, 17_500, 0.0), T("1.0 TSI FR", P, 85, 123, 23_500, 0.4),
    )),
    ModelSpec("Seat", "Leon", HB, 2012, None, 12, (
        T("1.5 TSI Style", P, 96, 131, 28_900, 0.4), T("2.0 TDI FR", D, 110, 116, 34_500, 0.8),
    )),
    ModelSpec("Cupra", "Formentor", SUV, 2021, None, 6, (
        T("1.5 TSI", P, 110, 146, 36_400, 0.7), T("VZ 2.0 TSI 4Drive", P, 245, 189, 54_900, 1.0),
        T("VZ e-Hybrid", PH, 200, 19, 50_900, 1.0),
    )),
    ModelSpec("Toyota", "Yaris", HB, 2012, None, 16, (
        T("1.5 Hybrid Comfort", H, 85, 92, 24_990, 1.0), T("1.0 VVT-i", P, 53, 118, 18_990, 0.0),
    )),
    ModelSpec("Toyota", "Corolla", HB, 2019, None, 13, (
        T("1.8 Hybrid Active", H, 103, 102, 30_990, 1.0),
        T("2.0 Hybrid GR Sport", H, 144, 110, 38_490, 1.0),
    ), wmi="SB1"),
    ModelSpec("Toyota", "RAV4", SUV, 2013, None, 9, (
        T("2.5 Hybrid Comfort", H, 160, 121, 42_990, 1.0),
        T("2.5 Plug-in Hybrid", PH, 225, 22, 55_990, 1.0),
    ), wmi="JTM"),
    ModelSpec("Hyundai", "i30", HB, 2012, None, 9, (
        T("1.0 T-GDI Trend", P, 88, 131, 26_500, 0.2),
        T("1.6 CRDi Style", D, 100, 116, 30_900, 0.6),
    )),
    ModelSpec("Hyundai", "Tucson", SUV, 2015, None, 10, (
        T("1.6 T-GDI Trend", P, 110, 153, 36_900, 0.6),
        T("1.6 T-GDI Hybrid Prime", H, 169, 136, 44_500, 1.0),
    )),
    ModelSpec("Hyundai", "Kona Electric", SUV, 2018, None, 8, (
        T("39 kWh Trend", E, 100, 0, 36_900, 1.0), T("64 kWh Prime", E, 150, 0, 44_400, 1.0),
    ), wmi="KMH"),
    ModelSpec("Kia", "Ceed", HB, 2012, None, 9, (
        T("1.0 T-GDI Vision", P, 74, 128, 24_990, 0.1),
        T("1.6 CRDi Spirit", D, 100, 112, 29_990, 0.6),
    )),
    ModelSpec("Kia", "Sportage", SUV, 2012, None, 11, (
        T("1.6 T-GDI Vision", P, 110, 159, 34_990, 0.5),
        T("1.6 T-GDI HEV Spirit", H, 169, 129, 42_490, 1.0),
        T("1.6 T-GDI PHEV GT-Line", PH, 195, 25, 48_990, 1.0),
    )),
    ModelSpec("Kia", "Niro", SUV, 2016, None, 9, (
        T("1.6 GDI Hybrid Vision", H, 104, 100, 31_490, 1.0),
        T("e-Niro 64 kWh Spirit", E, 150, 0, 43_390, 1.0),
    ), wmi="KNA"),
    ModelSpec("Volvo", "XC60", SUV, 2012, None, 10, (
        T("B4 Core", P, 145, 172, 54_590, 1.0), T("D4 AWD Momentum", D, 140, 145, 55_900, 1.0),
        T("T8 AWD Recharge Ultimate", PH, 335, 20, 72_490, 1.0),
    )),
    ModelSpec("Volvo", "XC40", SUV, 2018, None, 8, (
        T("B3 Core", P, 120, 157, 41_690, 1.0), T("Recharge Twin Ultimate", E, 300, 0, 59_990, 1.0),
    )),
    ModelSpec("Volvo", "V60", ES, 2012, None, 6, (
        T("B4 Plus", P, 145, 152, 50_390, 1.0), T("D4 Momentum", D, 140, 118, 48_900, 1.0),
    )),
    ModelSpec("Tesla", "Model 3", SD, 2019, None, 14, (
        T("RWD", E, 208, 0, 40_990, 1.0), T("Long Range", E, 366, 0, 48_990, 1.0),
        T("Performance", E, 393, 0, 54_990, 1.0),
    )),
    ModelSpec("Tesla", "Model Y", SUV, 2021, None, 12, (
        T("RWD", E, 220, 0, 44_990, 1.0), T("Long Range AWD", E, 378, 0, 51_990, 1.0),
    ), wmi="XP7"),
    ModelSpec("Nissan", "Qashqai", SUV, 2012, None, 12, (
        T("1.3 DIG-T MHEV Acenta", P, 103, 143, 32_990, 0.4),
        T("e-Power Tekna", H, 140, 116, 42_190, 1.0), T("1.5 dCi Visia", D, 85, 118, 29_500, 0.0),
    )),
    ModelSpec("Nissan", "Leaf", HB, 2012, None, 6, (
        T("40 kWh Acenta", E, 110, 0, 34_990, 1.0), T("e+ 62 kWh Tekna", E, 160, 0, 44_490, 1.0),
    )),
    ModelSpec("Mazda", "CX-5", SUV, 2012, None, 7, (
        T("2.0 e-Skyactiv G Prime-Line", P, 121, 163, 35_990, 0.5),
        T("2.2 Skyactiv-D AWD Homura", D, 135, 159, 45_490, 1.0),
    )),
    ModelSpec("Mazda", "MX-5", CV, 2012, None, 3, (
        T("1.5 Skyactiv-G Exclusive-Line", P, 97, 147, 32_990, 0.0),
        T("2.0 Skyactiv-G Homura", P, 135, 155, 38_890, 0.1),
    )),
    ModelSpec("MG", "MG4", HB, 2022, None, 6, (
        T("Standard 51 kWh", E, 125, 0, 34_990, 1.0),
        T("Long Range Luxury", E, 150, 0, 41_990, 1.0),
    )),
    ModelSpec("BMW", "4 Series", CP, 2014, None, 4, (
        T("420i Coupé", P, 135, 150, 52_500, 1.0),
        T("420d Coupé M Sport", D, 140, 128, 57_300, 1.0),
    )),
    ModelSpec("Volkswagen", "Touran", MPV, 2012, None, 6, (
        T("1.5 TSI Comfortline", P, 110, 146, 36_500, 0.5),
        T("2.0 TDI Highline", D, 110, 133, 42_300, 1.0),
    )),
    ModelSpec("Ford", "Ranger", PU, 2012, None, 3, (
        T("2.0 EcoBlue Double Cab XLT", D, 125, 245, 46_900, 0.6),
    )),
    ModelSpec("Volkswagen", "Transporter", VAN, 2012, None, 4, (
        T("2.0 TDI Kombi", D, 110, 190, 45_800, 0.4),
    ), wmi="WV2"),
)  # fmt: skip

# Shares of the European used-car stock by colour, in per cent.
COLOURS: tuple[tuple[str, int], ...] = (
    ("White", 21), ("Black", 18), ("Grey", 18), ("Silver", 11), ("Blue", 11), ("Red", 8),
    ("Green", 3), ("Brown", 3), ("Beige", 2), ("Orange", 2), ("Yellow", 1), ("Bronze", 2),
)  # fmt: skip

# Typical yearly distance in km per fuel: diesels and gas cars are bought to drive far.
ANNUAL_KM: dict[FuelType, int] = {
    FuelType.PETROL: 12_000,
    FuelType.DIESEL: 19_000,
    FuelType.HYBRID: 14_000,
    FuelType.PLUG_IN_HYBRID: 14_000,
    FuelType.ELECTRIC: 13_000,
    FuelType.LPG: 18_000,
    FuelType.CNG: 18_000,
}

# Relative stock by age in model years (index 0: new cars of the current model year).
AGE_WEIGHTS: tuple[int, ...] = (7, 9, 11, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 3, 2, 2)
