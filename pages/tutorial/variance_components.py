"""Variance components & ID coding: nested vs crossed, and the tutorial's CODING CAUTION made live."""
import pandas as pd
import streamlit as st

from lib.data.idcoding import Example, id_tables, unique_ids
from lib.data.slices import slice_frame
from lib.rprint.rformat import format_signif
from lib.teach import model_builder as mb
from lib.teach.id_pairs import PER_CODE, TOY_NAIVE, TOY_RECODED, coding_words
from ui import cache
from ui import exercises
from ui import mixed as ui
from ui.downloads import r_code
from ui.tables import text_table
from ui.widgets import on_demand, show_chart

st.title("Variance components & ID coding")
st.markdown(
    """
Each random term estimates one **variance component**: how much of the variation in the
response lies among the levels of its grouping factor. Grouping factors can be

- **nested** — every level of the inner factor sits inside one level of the outer one:
  individuals within families, families within populations. lme4 writes
  `(1 | Family/Individual)`, which is `(1 | Family) + (1 | Individual:Family)`;
- **crossed** — levels combine freely: every person measured in the same months, or
  the same ID code used in both sexes, as in this data set.

For lme4 the difference is only in the **codes**: a grouping factor is just a set of
labels, and rows with the same label are the same group.
""")

st.header("CODING CAUTION: unique vs non-unique IDs")
c1, c2, c3, c4 = st.columns(4)
n1 = c1.slider("Individuals in family 1", 2, 8, 3, key="vc_n1")
n2 = c2.slider("Individuals in family 2", 2, 8, 4, key="vc_n2")
reps = c3.slider("Measurements per individual", 2, 12, 6, key="vc_reps")
seed = c4.number_input("Random seed", 1, 999, 1, key="vc_seed")
ex = Example(sizes=(n1, n2), reps=int(reps), seed=int(seed))
toy = ex.slice_name
data = slice_frame(toy)
non, uniq = id_tables(ex.sizes)

left, right = st.columns(2)
with left:
    st.subheader("Non-unique ID")
    text_table(non)
with right:
    st.subheader("Unique ID")
    text_table(uniq)
st.markdown(
    f"""
Both tables hold **{n1 + n2} individuals in 2 families**. In the first, individuals are
numbered 1, 2, … again inside each family, so a model given only `Individual` sees
**{max(n1, n2)} groups**: individual 1 of family 1 and individual 1 of family 2 become one
"person". Each individual was measured {reps} times, with a simulated response `y`
(family SD {ex.sd_family:g}, individual SD {ex.sd_individual:g}, residual SD {ex.sd_residual:g}).
""")

naive = ui.fit(TOY_NAIVE, True, toy)
fixed = ui.fit(TOY_RECODED, True, toy)


def _variance(outcome, group):
    vc = outcome.fit.varcorr
    row = vc[(vc["grp"] == group) & vc["var2"].isna()]
    return float(row["vcov"].iloc[0]), float(vc.loc[vc["grp"] == "Residual", "vcov"].iloc[0])


if naive.ok and fixed.ok:
    shown = [(naive, "Individual", "on the non-unique codes"), (fixed, "UniqueID", "after recoding")]
    (_, r_naive), (_, r_fixed) = variances = [_variance(res, group) for res, group, _ in shown]
    for column, (res, group, title), (v, r) in zip(st.columns(2), shown, variances):
        with column:
            st.markdown(f"**`(1 | {group})` {title}**")
            m1, m2, m3 = st.columns(3)
            m1.metric("groups", res.fit.ngrps[group])
            m2.metric(f"{group} variance", format_signif(v, 4))
            m3.metric("Residual variance", format_signif(r, 4))
    st.markdown(
        f"""
With the non-unique codes the model estimates the variance among **{naive.fit.ngrps['Individual']}**
"individuals" that are really mixtures of two people: their differences land in the
residual ({format_signif(r_naive, 4)} instead of {format_signif(r_fixed, 4)}). **This would be wrong.**
Recoded, it estimates the variance among the **{fixed.fit.ngrps['UniqueID']}** real individuals.
""")
sel = st.radio("Colour the measurements by the group the model sees", ["Individual", "UniqueID"],
               horizontal=True, key="vc_view")
show_chart(cache.toy_chart(toy, sel))

st.subheader("The fix: recode to unique IDs")
st.markdown("In R, paste the family and the within-family code together; here `lib.data.idcoding.unique_ids` "
            "does the same (numbered 1..N in order of appearance, as in the tutorial's table).")
a, b = st.columns(2)
with a:
    r_code(mb.r_setup(toy) + '\ntoy$UniqueID <- factor(paste(toy$Family, toy$Individual, sep = "-"))\n'
           "# or let lme4 build it: (1 | Family/Individual)\n"
           "#   = (1 | Family) + (1 | Individual:Family)", "vc_recode_r", toy)
b.code('from lib.data.idcoding import unique_ids\n'
       'toy["UniqueID"] = unique_ids(toy, within="Family", code="Individual")', language="python")
with on_demand("The data with both codings", "vc_data") as shown:
    if shown:
        st.dataframe(data.round(3), hide_index=True)

st.subheader("Try the codings yourself")
st.markdown("Pick the grouping factor: `Individual` (non-unique), `UniqueID` (recoded), the nested "
            "`Individual:Family` (what `Family/Individual` adds), and `Family` itself. With only two "
            "families, a Family variance is barely estimable — expect a very uncertain or zero estimate.")
default = mb.ModelSpec((), (mb.RandomSpec("Individual"),), True, toy, "y")
ui.chosen_model("vc", default, "toy_model", slices=[toy], fixed_options=(), slope_options=(),
                groups=("Individual", "UniqueID", "Individual:Family", "Family"), response="y",
                n_terms=2, title="Random terms for the small example")

st.header("In ImmuneData: one IndID code, two people")
full = slice_frame("all")
pairs = cache.id_pairs("all")
n_sex_ind = (full["Sex"].astype(str) + ":" + full["IndID"].astype(str)).nunique()
n_fam_ind = (full["FamID"].astype(str) + ":" + full["IndID"].astype(str)).nunique()
recoded = unique_ids(full, "Sex", "IndID").nunique()
st.markdown(f"The same trap is in the tutorial's data: {pairs.sentence()}. 270 people under "
            f"{pairs.codes} codes, so nesting in FamID separates only some of them.")
codes = pd.DataFrame({
    "grouping factor": ["IndID", "IndID:FamID (what FamID/IndID adds)", "Sex:IndID", "unique_ids(Sex, IndID)"],
    "groups": [full["IndID"].nunique(), n_fam_ind, n_sex_ind, recoded],
    "one person per group?": ["no", "no" if n_fam_ind < 270 else "yes", "yes", "yes"],
})
text_table(codes)
st.caption(coding_words(pairs))
st.markdown("Switch the individual term between `IndID` and `Sex:IndID` and watch the number of groups "
            "and the variances change (the tutorial's fix, on the *Convergence* page, uses `Sex:IndID`).")
real_default = mb.spec_from_formula(PER_CODE, True, "all")
ui.chosen_model("vcreal", real_default, "MModInd", title="A random intercept per individual code")

exercises.show("variance_components", naive=exercises.fit_of(naive), recoded=exercises.fit_of(fixed))
