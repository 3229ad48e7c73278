"""Both languages have every string; Russian is the default."""

from crystal_bay import i18n


def test_ru_and_en_have_the_same_keys():
    assert set(i18n.RU) == set(i18n.EN)
    assert all(v.strip() for v in [*i18n.RU.values(), *i18n.EN.values()])


def test_russian_is_default_and_fallback():
    assert i18n.DEFAULT_LANGUAGE == "ru"
    assert i18n.tr("xx", "nav.board") == "Доска"
    assert i18n.tr("en", "nav.board") == "Board"
