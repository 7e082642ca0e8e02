"""Reference data for demo dealers: markets, their cities, surnames and dealer names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Market:
    country: str  # ISO 3166-1 alpha-2
    weight: int  # relative share of dealers: roughly the size of the used-car market
    cities: tuple[str, ...]
    surnames: tuple[str, ...]
    name_patterns: tuple[str, ...]  # str.format patterns using {surname} and {city}


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(","))


# Real cities and common surnames of each country; dealer names follow local usage.
MARKETS: tuple[Market, ...] = (
    Market("DE", 20,
        _list(
            "Berlin, Hamburg, München, Köln, Frankfurt am Main, Stuttgart, Düsseldorf, "
            "Leipzig, Dortmund, Essen, Bremen, Dresden, Hannover, Nürnberg"
        ),
        _list(
            "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Hoffmann, "
            "Schulz, Koch, Richter, Klein, Wolf"
        ),
        _list(
            "Autohaus {surname} {city}, Autohaus {surname}, {surname} Automobile {city}, "
            "Autozentrum {city}, Auto {surname} GmbH"
        ),
    ),
    Market("FR", 15,
        _list(
            "Paris, Lyon, Marseille, Toulouse, Nice, Nantes, Strasbourg, Montpellier, "
            "Bordeaux, Lille, Rennes, Reims"
        ),
        _list(
            "Dupont, Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, "
            "Moreau, Lefèvre"
        ),
        _list(
            "Garage {surname} {city}, Garage {surname}, {surname} Automobiles, "
            "Auto {city} Occasions, Espace Auto {surname}"
        ),
    ),
    Market("IT", 13,
        _list(
            "Roma, Milano, Napoli, Torino, Palermo, Genova, Bologna, Firenze, Verona, Bari, "
            "Padova, Brescia"
        ),
        _list(
            "Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, "
            "Bruno, Gallo"
        ),
        _list(
            "Autosalone {surname} {city}, {surname} Auto S.r.l., Concessionaria {surname}, "
            "Autocentro {city}, {surname} Motori"
        ),
    ),
    Market("ES", 11,
        _list(
            "Madrid, Barcelona, Valencia, Sevilla, Zaragoza, Málaga, Bilbao, Murcia, "
            "Alicante, Valladolid, Palma, Vigo"
        ),
        _list(
            "García, Fernández, González, Rodríguez, López, Martínez, Sánchez, Pérez, Gómez, "
            "Martín, Ruiz, Díaz"
        ),
        _list(
            "Automóviles {surname} {city}, Autos {surname} S.L., Talleres {surname}, "
            "Motor {city}, Concesionario {surname}"
        ),
    ),
    Market("PL", 8,
        _list(
            "Warszawa, Kraków, Łódź, Wrocław, Poznań, "
            "Gdańsk, Szczecin, Lublin, Katowice, Białystok"
        ),
        _list(
            "Nowak, Kowalski, Wiśniewski, Wójcik, Kowalczyk, Kamiński, Lewandowski, "
            "Zieliński, Szymański, Woźniak"
        ),
        _list(
            "Auto-Komis {surname} {city}, {surname} Samochody Sp. z o.o., Auto {surname}, "
            "Salon {city} Auto"
        ),
    ),
    Market("NL", 7,
        _list(
            "Amsterdam, Rotterdam, Den Haag, Utrecht, Eindhoven, Groningen, Tilburg, Breda, "
            "Nijmegen, Zwolle"
        ),
        _list(
            "de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Visser, Smit, Meijer, "
            "Mulder"
        ),
        _list(
            "Autobedrijf {surname} {city}, {surname} Auto's, "
            "Autocentrum {city}, Garage {surname}"
        ),
    ),
    Market("BE", 5,
        _list("Bruxelles, Antwerpen, Gent, Charleroi, Liège, Brugge, Leuven, Namur, Mechelen"),
        _list("Peeters, Janssens, Maes, Jacobs, Mertens, Willems, Claes, Dubois, Lambert, Dupont"),
        _list("Garage {surname} {city}, Autobedrijf {surname}, {surname} Cars, Auto {city}"),
    ),
    Market("AT", 4,
        _list("Wien, Graz, Linz, Salzburg, Innsbruck, Klagenfurt, Villach, Wels, St. Pölten"),
        _list("Gruber, Huber, Bauer, Wagner, Müller, Pichler, Steiner, Moser, Mayer, Hofer"),
        _list(
            "Autohaus {surname} {city}, Autohaus {surname}, "
            "{surname} Automobile, Autowelt {city}"
        ),
    ),
    Market("SE", 4,
        _list(
            "Stockholm, Göteborg, Malmö, Uppsala, Västerås, "
            "Örebro, Linköping, Helsingborg, Umeå"
        ),
        _list(
            "Andersson, Johansson, Karlsson, Nilsson, Eriksson, "
            "Larsson, Olsson, Persson, Svensson"
        ),
        _list("{surname}s Bil {city}, {city} Bilcenter, {surname}s Bil AB, Bilhuset {city}"),
    ),
    Market("CZ", 4,
        _list("Praha, Brno, Ostrava, Plzeň, Liberec, Olomouc, České Budějovice, Hradec Králové"),
        _list("Novák, Svoboda, Novotný, Dvořák, Černý, Procházka, Kučera, Veselý, Horák"),
        _list(
            "Autosalon {surname} {city}, {surname} Auto s.r.o., "
            "Autocentrum {city}, Auto {surname}"
        ),
    ),
    Market("PT", 3,
        _list("Lisboa, Porto, Braga, Coimbra, Faro, Aveiro, Setúbal, Funchal"),
        _list("Silva, Santos, Ferreira, Pereira, Oliveira, Costa, Rodrigues, Martins, Sousa"),
        _list("Stand {surname} {city}, {surname} Automóveis, Auto {city}, Garagem {surname}"),
    ),
    Market("DK", 3,
        _list("København, Aarhus, Odense, Aalborg, Esbjerg, Randers, Kolding, Vejle"),
        _list("Nielsen, Jensen, Hansen, Pedersen, Andersen, Christensen, Larsen, Sørensen"),
        _list("{surname} Biler {city}, {city} Autohus, {surname} Auto ApS, Bilhuset {surname}"),
    ),
    Market("IE", 3,
        _list("Dublin, Cork, Galway, Limerick, Waterford, Kilkenny, Sligo, Athlone"),
        _list("Murphy, Kelly, O'Sullivan, Walsh, O'Brien, Byrne, Ryan, O'Connor, Doyle"),
        _list(
            "{surname} Motors {city}, {city} Car Sales, "
            "{surname} Garage Ltd, {surname} Motor Group"
        ),
    ),
)  # fmt: skip
