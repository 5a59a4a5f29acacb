# R's printed output that tests/test_lme4_print.py and tests/test_compare.py compare with.
# usage (from this folder): Rscript make_golden.R /path/to/shared/reference
# R 4.2.2, lme4 1.1-31, lmtest 0.9-40; data: ImmuneData_exact.csv (the doubles pandas reads).
suppressMessages({library(lme4); library(lmtest)})
ref <- commandArgs(TRUE)[1]
d0 <- read.csv(file.path(ref, "ImmuneData_exact.csv"))
dat <- d0; for (c in c("IndID", "FamID", "Sex")) dat[[c]] <- factor(dat[[c]])
i0 <- subset(dat, Time == 0)
dat$SexCopy <- dat$Sex
out <- function(file, expr) {  # printed output and messages, in console order
  con <- file(file, open = "wt"); sink(con); sink(con, type = "message")
  on.exit({ sink(type = "message"); sink(); close(con) })
  force(expr)
}
specs <- list(MMod = list(IgG ~ Sex + (1|FamID), "i0"), MMod2 = list(IgG ~ Sex + (Sex|FamID), "i0"),
  MMod3 = list(IgG ~ 1 + (Sex|FamID), "i0"), MModTime = list(IgG ~ Sex*Time + (1|FamID), "dat"),
  MModTime2 = list(IgG ~ Sex*Time + (1+Time|FamID), "dat"),
  MModTime3 = list(IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|IndID), "dat"),
  MModTime4 = list(IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID), "dat"))
fits <- list()
for (n in names(specs)) for (reml in c(TRUE, FALSE)) {
  # data = dat in the call, so that summary() prints "Data: dat"
  dat_n <- get(specs[[n]][[2]])
  m <- suppressWarnings(eval(bquote(lmer(.(specs[[n]][[1]]), data = dat, REML = .(reml))),
                             list(dat = dat_n)))
  if (reml) fits[[n]] <- m
  out(sprintf("%s_%s.txt", n, if (reml) "REML" else "ML"), print(summary(m)))
}
out("lrtest.txt", {
  print(lrtest(fits$MMod2, fits$MMod)); print(lrtest(fits$MMod2, fits$MMod3))
  print(lrtest(fits$MModTime, fits$MModTime2)); print(lrtest(fits$MModTime2, fits$MModTime4)) })
out("anova.txt", {
  print(anova(fits$MMod2, fits$MMod3)); print(anova(fits$MModTime2, fits$MModTime4))
  print(anova(fits$MMod2, fits$MMod3, fits$MMod)) })
extras <- list(many_coefs = IgG ~ Sex*FamID + (1|IndID), rank_deficient = IgG ~ Sex + SexCopy + Time + (1|FamID),
  double_bar = IgG ~ Sex*Time + (1 + Time || FamID), three_by_three = IgG ~ Sex*Time + (1 + Sex + Time | FamID),
  wide_correlation = IgG ~ Sex*Time + FamID + (1|IndID))
for (n in names(extras)) {
  m <- suppressWarnings(suppressMessages(eval(bquote(lmer(.(extras[[n]]), data = dat)))))
  out(paste0(n, ".txt"), print(summary(m)))
  # the criterion's optimum: a tight refit from lme4's stop (as shared/reference/optimum.R), printed
  # with the call of the default fit, so that the two texts differ only where the stop decides a digit
  ctl <- lmerControl(optimizer = "nloptwrap", calc.derivs = FALSE,
                     optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-16, xtol_rel = 0, ftol_rel = 0, maxeval = 1e6))
  mo <- suppressWarnings(suppressMessages(update(m, control = ctl, start = list(theta = getME(m, "theta")))))
  mo@call <- m@call
  local({ m <- mo; out(paste0(n, "_optimum.txt"), print(summary(m))) })
}
# GLMMs in anova() and lrtest(): duck-typed fits (lib.glmer)
sim <- read.csv(file.path(ref, "SimulatedCounts.csv")); sim$Site <- factor(sim$Site)
m1 <- glmer(Count ~ Dose + (1|Site), data = sim, family = poisson)
m0 <- glmer(Count ~ 1 + (1|Site), data = sim, family = poisson)
out("glmer_compare.txt", { print(anova(m0, m1)); print(lrtest(m0, m1)) })
