from civic.i18n import pick_language


def test_pick_language():
    assert pick_language(None) == "vi"
    assert pick_language("en-US,en;q=0.9") == "en"
    assert pick_language("fr, en;q=0.5, vi;q=0.8") == "vi"
    assert pick_language("de") == "vi"
    assert pick_language("en;q=0") == "vi"
