"""Contact details typed into free text never reach a public answer."""

import pytest

from civic.domain.privacy import HIDDEN, mask_contacts


@pytest.mark.parametrize(
    "raw",
    [
        "Gọi tôi 0912345678 nhé",
        "SĐT: 0912 345 678",
        "SĐT 091.234.5678",
        "liên hệ +84 912 345 678",
        "liên hệ (+84) 912-345-678",
        "so 84912345678",
        "email an.nguyen+dev@example.com.vn",
        "ANH.NGUYEN@Example.COM",
    ],
)
def test_phone_numbers_and_emails_are_hidden(raw):
    masked = mask_contacts(raw)
    assert HIDDEN in masked
    assert not any(ch.isdigit() for ch in masked)  # these texts hold no other digits
    assert "@" not in masked


@pytest.mark.parametrize(
    "raw",
    [
        "Số 12, ngõ 34 phố Huế",
        "Cột điện số 1234 giữa đường",
        "Ổ gà rộng 50 cm, sâu 20cm, từ ngày 23/11/2026 lúc 07:30",
        "Km 12+500 quốc lộ 1A",
        "",
        None,
    ],
)
def test_ordinary_text_is_left_alone(raw):
    assert mask_contacts(raw) == raw


def test_public_view_masks_and_owner_view_does_not():
    from civic.domain.categories import all_categories
    from civic.domain.reports import Report, owner_view, public_view

    report = Report(
        id="a" * 32, tracking_code="HN-ABCDEF", status="routed", category="traffic",
        description="Ổ gà lớn, gọi 0912 345 678 hoặc an@example.com", lat=21.0, lon=105.8,
        citizen_id="c1", created_at="2026-11-23T01:00:00Z", updated_at="2026-11-23T01:00:00Z",
        address="Số 5 phố Mẫu, SĐT 0987654321",
    )
    category = all_categories()["traffic"]
    public = public_view(report, category, "https://cdn.example")
    assert "0912" not in public["description"] and "@" not in public["description"]
    assert public["description"].startswith("Ổ gà lớn, gọi ")
    assert "0987654321" not in public["address"] and public["address"].startswith("Số 5 phố Mẫu")
    own = owner_view(report, category, "https://cdn.example")
    assert own["description"] == report.description and own["address"] == report.address
