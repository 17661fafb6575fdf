"""An A4 PDF with the embedded DejaVu fonts (Cyrillic and Kazakh letters) and a numbered footer —
the page every PDF the platform writes starts from (checkpoint briefs, statistics reports)."""

from __future__ import annotations

from importlib import resources
from typing import Any


def document(title: str, footer: str) -> Any:
    """An fpdf2 document titled ``title`` whose pages end with "``footer`` — n/N"."""
    from fpdf import FPDF

    class Paged(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 7)
            self.cell(0, 5, f"{footer} — {self.page_no()}/{{nb}}", align="C")

    doc = Paged(format="A4")
    doc.set_creator("Shekteu")
    doc.set_title(title)
    fonts = resources.files("shekteu.dossier").joinpath("fonts")
    with (resources.as_file(fonts.joinpath("DejaVuSans.ttf")) as regular,
          resources.as_file(fonts.joinpath("DejaVuSans-Bold.ttf")) as bold):  # fmt: skip
        doc.add_font("DejaVu", "", str(regular))
        doc.add_font("DejaVu", "B", str(bold))
    doc.alias_nb_pages()
    doc.set_auto_page_break(True, margin=15)
    return doc
