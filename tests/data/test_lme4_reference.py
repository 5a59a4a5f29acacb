"""data/lme4_reference.json is what tools/make_lme4_reference.py makes from shared/reference."""
from tools.make_lme4_reference import OUT, text


def test_shipped_lme4_reference_is_remade_identically():
    assert OUT.read_text() == text()


def test_printed_differences_are_the_digits_lme4s_stop_decides(lmer_fits):
    """MModTime2 REML: the reference README's example, intercept SE 1.9656 at lme4's stop, 1.9659 at
    the optimum; our summary prints the optimum's, and nothing else differs but what follows from it."""
    from lib.data.lme4_reference import criterion_gap, printed_differences
    from lib.rprint.lme4_print import lmer_summary

    ours = lmer_summary(lmer_fits.get("MModTime2"), data_name="dat", correlation=False)
    diffs = {(d.lme4, d.ours) for d in printed_differences(ours, "MModTime2")}
    assert ("1.9656", "1.9659") in diffs
    assert {lme4 for lme4, _ in diffs} <= {"29.426", "5.4246", "0.8927", "1.9656", "70.944"}
    assert 1e-7 < criterion_gap("MModTime2") < 2e-7  # optimum_lme4.json: 1.90e-7
