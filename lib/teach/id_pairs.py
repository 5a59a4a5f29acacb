"""Who shares an IndID code in ImmuneData, said the same way on every page.

Each of the 135 IndID codes holds two people, one female and one male. The tutorial calls them
brother and sister, but in the data most pairs are in two different families, so "siblings" would
mislead: the pages say "one female and one male" and give the count.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lib.data.idcoding import shared_codes

# the Variance components page's models: the toy example on its non-unique and recoded IDs, and a
# random intercept per IndID code in ImmuneData
TOY_NAIVE = "y ~ 1 + (1 | Individual)"
TOY_RECODED = "y ~ 1 + (1 | UniqueID)"
PER_CODE = "IgG ~ Sex * Time + (1 | FamID) + (1 | IndID)"


@dataclass(frozen=True)
class CodePairs:
    codes: int  # IndID codes
    two_sexes: int  # codes holding a female and a male
    two_families: int  # codes whose two people are in different families

    def sentence(self) -> str:
        """One sentence for a page: what an IndID code holds."""
        return (f"each IndID code holds **two people, one female and one male** ({self.two_sexes} of "
                f"{self.codes} codes); the tutorial calls them brother and sister, but in {self.two_families} "
                f"of the {self.codes} pairs the two are in different families")


def code_pairs(data: pd.DataFrame) -> CodePairs:
    return CodePairs(data["IndID"].nunique(), len(shared_codes(data, "Sex", "IndID")),
                     len(shared_codes(data, "FamID", "IndID")))


def coding_words(pairs: CodePairs) -> str:
    """What the codes say about nesting, in words (instead of True/False)."""
    return (f"IndID is not a unique ID: all {pairs.two_sexes} codes are used in both sexes, and {pairs.two_families} "
            f"of them in two families, so IndID is not nested in FamID either. Within one sex each code is one "
            f"person, so Sex:IndID (270 levels) names one person per level.")
