"""A category's typed questions and the check of a citizen's answers (POST /v1/reports, Open311, web form)."""

import pytest

from civic.domain.categories import all_categories
from civic.domain.errors import Invalid
from civic.domain.questions import TYPES, Question, check_answers

QUESTIONS = tuple(Question.from_data(q) for q in [
    {"code": "note", "type": "text", "label": {"vi": "Ghi chú", "en": "Note"}},
    {"code": "count", "type": "number", "label": {"vi": "Số lượng", "en": "How many"}},
    {"code": "size", "type": "single", "label": {"vi": "Cỡ", "en": "Size"}, "required": True,
     "options": [{"key": "s", "label": {"vi": "Nhỏ", "en": "Small"}}, {"key": "l", "label": {"vi": "Lớn", "en": "Large"}}]},
    {"code": "kinds", "type": "multiple", "label": {"vi": "Loại", "en": "Kinds"},
     "options": [{"key": "a", "label": {"vi": "A", "en": "A"}}, {"key": "b", "label": {"vi": "B", "en": "B"}}]},
    {"code": "blocked", "type": "yes_no", "label": {"vi": "Cản đường?", "en": "Blocking the road?"}},
    {"code": "since", "type": "date", "label": {"vi": "Từ ngày", "en": "Since"}},
])


def test_good_answers_come_back_normalised():
    answers = {"note": "  cột nghiêng ", "count": 3, "size": "l", "kinds": ["b", "a"], "blocked": "yes", "since": "2026-12-01"}
    assert check_answers(QUESTIONS, answers) == {
        "note": "cột nghiêng", "count": 3, "size": "l", "kinds": ["a", "b"], "blocked": "yes", "since": "2026-12-01"}


@pytest.mark.parametrize("answers, field", [
    ({}, "answers.size"),                                    # required, missing
    ({"size": "xl"}, "answers.size"),                        # not an option
    ({"size": "s", "count": "3"}, "answers.count"),          # a number as text
    ({"size": "s", "count": True}, "answers.count"),         # a boolean is no number
    ({"size": "s", "kinds": ["a", "a"]}, "answers.kinds"),   # twice the same
    ({"size": "s", "kinds": "a"}, "answers.kinds"),          # not a list
    ({"size": "s", "blocked": "maybe"}, "answers.blocked"),
    ({"size": "s", "since": "01/12/2026"}, "answers.since"),
    ({"size": "s", "note": "x" * 501}, "answers.note"),
    ({"size": "s", "colour": "red"}, "answers.colour"),      # no such question
    ({"size": "s", "count": 10 ** 400}, "answers.count"),    # too large even for a float
    ({"size": "s", "count": 1e200}, "answers.count"),        # DynamoDB could not store it
    ({"size": "   "}, "answers.size"),                       # blank is no answer to a required question
])
def test_bad_answers_are_refused_with_a_bilingual_message_per_answer(answers, field):
    with pytest.raises(Invalid) as refused:
        check_answers(QUESTIONS, answers)
    assert refused.value.code == "invalid_answers" and field in refused.value.fields
    message = refused.value.fields[field]
    assert message.vi and message.en and message.vi != message.en


def test_answers_must_be_an_object():
    with pytest.raises(Invalid) as refused:
        check_answers(QUESTIONS, ["size", "s"])
    assert "answers" in refused.value.fields


def test_every_shipped_question_is_typed_and_open311_can_carry_it():
    questions = [q for c in all_categories().values() for q in c.questions]
    assert questions, "the shipped categories ask questions"
    for q in questions:
        assert q.type in TYPES and q.label.vi and q.label.en
        public = q.public()
        assert public["type"] == q.type and ("options" in public) == bool(q.choices)


def test_a_choice_question_without_options_is_a_data_error():
    with pytest.raises(ValueError):
        Question.from_data({"code": "x", "type": "single", "label": {"vi": "x", "en": "x"}})
