"""Field mapping suggestions and checks (pure)."""

from __future__ import annotations

from leadgate.delivery import mapping

CLIENT = [
    {"name": "email", "label": "Email", "required": True},
    {"name": "first_name", "label": "First name", "required": True},
    {"name": "companyName", "label": "Company", "required": False},
    {"name": "phoneNumber", "label": "Telephone number", "required": False},
    {"name": "zip", "label": "Postal code", "required": False},
]
OURS = [
    {"name": "email", "label": "Work email"},
    {"name": "firstName", "label": "First name"},
    {"name": "company", "label": "Company name"},
    {"name": "tel", "label": "Telephone Number"},
    {"name": "notes", "label": "Notes"},
]


def test_suggestions_by_name_then_spacing_then_label() -> None:
    assert mapping.suggest(CLIENT, OURS) == {
        "email": "email",  # same name
        "first_name": "firstName",  # case/spacing-insensitive
        "phoneNumber": "tel",  # label similarity
        "companyName": "company",  # label "Company" ~ our name "company"
    }


def test_each_own_field_is_suggested_once() -> None:
    client = [{"name": "email"}, {"name": "Email"}]
    assert mapping.suggest(client, [{"name": "email"}]) == {"email": "email"}


def test_problems_name_what_is_wrong() -> None:
    assert mapping.problems({"email": "email", "first_name": "firstName"}, CLIENT, OURS) == []
    assert mapping.problems({"email": "email"}, CLIENT, OURS) == [
        "the client's required field first_name is not mapped"
    ]
    assert mapping.problems(
        {"email": "email", "first_name": "gone", "fax": "notes"}, CLIENT, OURS
    ) == [
        "our form has no field gone (mapped to the client's first_name)",
        "the client's form has no field fax any more",
    ]


def test_apply_renames_and_drops_empty() -> None:
    data = {"email": "a@b.example", "firstName": "Ada", "company": "", "tel": None, "notes": "x"}
    assert mapping.apply(
        {
            "email": "email",
            "first_name": "firstName",
            "companyName": "company",
            "phoneNumber": "tel",
        },
        data,
    ) == {"email": "a@b.example", "first_name": "Ada"}
