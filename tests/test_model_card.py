"""Model cards hold nothing of the machine that wrote them and link nowhere; the shipped
model's card is written for its users."""

import re
from pathlib import Path

import pyramidrefine as pr
from pyramidrefine.model_card import PLACEHOLDER, portable_name

SHIPPED_CARD = Path(__file__).parents[1] / "docs" / "model-card.md"


def test_a_saved_card_names_the_folder_not_its_absolute_path(tmp_path):
    model = pr.CoarseToFine("unet", in_channels=1, out_channels=2, levels=1, depth=1)
    model.save_pretrained(tmp_path / "deep" / "my-colorizer")
    card = (tmp_path / "deep" / "my-colorizer" / "README.md").read_text()
    assert str(tmp_path) not in card and "/deep/" not in card
    assert 'from_pretrained("my-colorizer")' in card
    assert not re.search(r"https?://", card)  # no link that may not exist


def test_portable_names():
    assert portable_name("owner/name") == "owner/name"  # a Hub id
    assert portable_name("/home/someone/runs/x/model") == "model"
    assert portable_name("~/models/colorizer/") == "colorizer"
    assert portable_name(None) == PLACEHOLDER


def test_the_shipped_card_is_self_contained_and_says_what_the_weights_may_be_used_for():
    card = SHIPPED_CARD.read_text()
    for development_term in ("../shared", "LICENSES/", "runs/fork-l1", "targets of its issue"):
        assert development_term not in card
    licences = card[card.index("## Licences") :]
    for source in ("Caltech-101", "CQ100", "gcompris", "BSDS500", "Urban100", "ImageNet"):
        assert source in licences
    assert "CC BY 4.0" in licences and "research" in licences
    assert "may be used" in licences
