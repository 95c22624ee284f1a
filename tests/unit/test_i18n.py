from civic.i18n import local_display, pick_language


def test_pick_language():
    assert pick_language(None) == "vi"
    assert pick_language("en-US,en;q=0.9") == "en"
    assert pick_language("fr, en;q=0.5, vi;q=0.8") == "vi"
    assert pick_language("de") == "vi"
    assert pick_language("en;q=0") == "vi"


def test_local_display_is_ho_chi_minh_time():
    assert local_display("2026-11-23T11:00:00.000Z") == "23/11/2026 18:00"
