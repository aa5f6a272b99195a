"""Small built-in name lists: plausible, common names, never real people's records.

Names are personal data in the contract; the simulator only puts them in the records
it submits and never prints or logs them.
"""

from __future__ import annotations

import random
from typing import Literal

NameStyle = Literal["spanish", "haitian"]

_SPANISH_FEMALE = (
    "María", "Ana", "Rosa", "Carmen", "Sofía", "Daniela", "Gabriela", "Karla", "Yesenia",
    "Marisol", "Lucía", "Valeria", "Andrea", "Fernanda", "Dayana", "Wendy", "Glenda",
    "Iris", "Reina", "Sandra", "Juana", "Elena", "Patricia", "Yolanda", "Mirian", "Keila",
    "Josefa", "Isabel", "Alejandra", "Paola", "Ximena", "Camila", "Dulce", "Esperanza",
)  # fmt: skip
_SPANISH_MALE = (
    "José", "Juan", "Carlos", "Luis", "Jorge", "Miguel", "Ángel", "Francisco", "Jesús",
    "Pedro", "Marvin", "Wilmer", "Óscar", "Mario", "Byron", "Edwin", "Kevin", "Denis",
    "Santos", "Elmer", "Henry", "Josué", "Darwin", "Yoel", "Alexis", "Rafael", "Manuel",
    "Antonio", "Julio", "Cristian", "Andrés", "Diego", "Nelson", "Walter",
)  # fmt: skip
_SPANISH_FAMILY = (
    "López", "Pérez", "García", "Hernández", "Martínez", "Rodríguez", "González", "Ramírez",
    "Cruz", "Flores", "Reyes", "Morales", "Castillo", "Ortiz", "Aguilar", "Díaz", "Mejía",
    "Chávez", "Vásquez", "Romero", "Sánchez", "Torres", "Gómez", "Jiménez", "Ramos",
    "Mendoza", "Alvarado", "Orellana", "Zelaya", "Velásquez", "Pineda", "Escobar",
    "Tzul", "Ajú", "Cux", "Chávez", "Pop", "Caal", "Gutiérrez", "Rivas", "Bermúdez",
    "Herrera", "Medina", "Fuentes", "Salazar", "Paz", "Ríos", "Castro", "Navarro",
)  # fmt: skip
_HAITIAN_FEMALE = (
    "Marie", "Widlyne", "Fabiola", "Nadège", "Roseline", "Guerline", "Mirlande",
    "Islande", "Fedline", "Nathalie", "Esther", "Rose-Marie",
)  # fmt: skip
_HAITIAN_MALE = (
    "Jean", "Pierre", "Peterson", "Wilner", "Jean-Robert", "Frantz", "Evens", "Jameson",
    "Ricardo", "Stanley", "Jacques", "Wisly",
)  # fmt: skip
_HAITIAN_FAMILY = (
    "Joseph", "Pierre", "Louis", "Jean-Baptiste", "Charles", "Étienne", "Paul", "Desir",
    "Augustin", "François", "Saint-Fleur", "Dorvil", "Exantus", "Michel",
)  # fmt: skip


def given_names(rng: random.Random, sex: str, style: NameStyle) -> str:
    """One or two given names for ``sex`` (``X``: either list)."""
    female, male = (
        (_HAITIAN_FEMALE, _HAITIAN_MALE) if style == "haitian" else (_SPANISH_FEMALE, _SPANISH_MALE)
    )
    pool = female if sex == "F" else male if sex == "M" else rng.choice((female, male))
    first = rng.choice(pool)
    if rng.random() < 0.45:
        second = rng.choice(pool)
        if second != first:
            return f"{first} {second}"
    return first


def family_name(rng: random.Random, style: NameStyle) -> str:
    """One family name from the list of ``style``."""
    return rng.choice(_HAITIAN_FAMILY if style == "haitian" else _SPANISH_FAMILY)


def family_names(rng: random.Random, style: NameStyle) -> str:
    """Two family names (father's, mother's) in Spanish use; one in Haitian use."""
    if style == "haitian":
        return family_name(rng, style)
    return f"{family_name(rng, style)} {family_name(rng, style)}"


def child_family_names(father: str | None, mother: str | None, style: NameStyle) -> str:
    """A child's family names: father's first then mother's first; one parent's both."""
    if father is not None and mother is not None and style == "spanish":
        return f"{father.split(' ')[0]} {mother.split(' ')[0]}"
    known = father if father is not None else mother
    return known if known is not None else "Desconocido"
