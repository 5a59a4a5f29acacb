# Reference figures for the inference tests (issue 17): lmerTest's Satterthwaite and Kenward-Roger
# tables (pbkrtest), performance's ICC and Nakagawa R2, and lme4's profile confidence intervals, for
# the tutorial's seven lmer fits (REML, lme4's defaults) on ImmuneData_exact.csv.
# usage: Rscript inference.R SHARED_REFERENCE_DIR OUT.json
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, performance 0.10.2, insight 0.19.0
# (Debian bookworm: r-cran-lmertest, r-cran-pbkrtest, r-cran-performance).
#
# Each figure is stored under the R expression that made it (`expr`), `m` being the fit:
#   satterthwaite:  summary(m)$coefficients and anova(m) (type III) with lmerTest's default ddf
#   kenward_roger:  summary(m, ddf = "Kenward-Roger")$coefficients, anova(m, ddf = "Kenward-Roger")
#   icc, r2:        performance::icc(m), icc(m, by_group = TRUE), r2_nakagawa(m)
#   confint:        confint(m, method = "Wald"), confint(m, method = "profile") with lme4's defaults
#                   ("default"), and the same profile computed tightly ("tight": the ML refit by
#                   bobyqa to rhoend = 1e-12 from lme4's stop, profiled with bobyqa at rhoend = 1e-12
#                   and steps of cutoff / 32 instead of cutoff / 8), which removes the error of
#                   lme4's loose inner optimizer and of its spline through few points.
suppressMessages({library(lmerTest); library(pbkrtest); library(performance); library(jsonlite)})
args <- commandArgs(TRUE); dir <- args[1]; out_file <- args[2]
d <- read.csv(file.path(dir, "ImmuneData_exact.csv"))
for (c in c("IndID", "FamID", "Sex")) d[[c]] <- factor(d[[c]])
i0 <- subset(d, Time == 0)
models <- list(
  MMod = list(IgG ~ Sex + (1 | FamID), i0),
  MMod2 = list(IgG ~ Sex + (Sex | FamID), i0),
  MMod3 = list(IgG ~ 1 + (Sex | FamID), i0),
  MModTime = list(IgG ~ Sex * Time + (1 | FamID), d),
  MModTime2 = list(IgG ~ Sex * Time + (1 + Time | FamID), d),
  MModTime3 = list(IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | IndID), d),
  MModTime4 = list(IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID), d))
profiled <- c("MMod", "MMod2", "MMod3", "MModTime", "MModTime2", "MModTime4")

rows <- function(x) { df <- as.data.frame(x); df$`_row` <- rownames(df); df }
quiet <- function(expr) {
  warns <- character(0)
  value <- withCallingHandlers(suppressMessages(expr), warning = function(w) {
    warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = value, warnings = warns)
}
tight_profile <- function(m) {
  ml <- lme4::lmer(formula(m), data = m@frame, REML = FALSE, start = list(theta = getME(refitML(m), "theta")),
                   control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))
  pr <- profile(ml, optimizer = "bobyqa", control = list(rhoend = 1e-12), delta.cutoff = 1 / 32)
  list(value = rows(confint(pr)), ml_deviance = deviance(ml), ml_theta = unname(getME(ml, "theta")))
}
out <- list()
for (name in names(models)) {
  f <- models[[name]][[1]]; dat <- models[[name]][[2]]
  m <- suppressMessages(lmer(f, data = dat))
  s <- quiet(summary(m)$coefficients)
  a <- quiet(anova(m))
  t0 <- proc.time()[["elapsed"]]
  kr <- quiet(summary(m, ddf = "Kenward-Roger")$coefficients)
  kra <- quiet(anova(m, ddf = "Kenward-Roger"))
  kr_seconds <- proc.time()[["elapsed"]] - t0
  icc <- quiet(performance::icc(m))
  iccg <- quiet(performance::icc(m, by_group = TRUE))
  r2 <- quiet(performance::r2_nakagawa(m))
  rec <- list(
    formula = paste(deparse(f), collapse = ""), theta = unname(getME(m, "theta")), REMLcrit = REMLcrit(m),
    satterthwaite = list(expr = "summary(m)$coefficients", coef = rows(s$value), warnings = s$warnings),
    satterthwaite_anova = list(expr = "anova(m)", table = rows(a$value), warnings = a$warnings),
    kenward_roger = list(expr = 'summary(m, ddf = "Kenward-Roger")$coefficients', coef = rows(kr$value),
                         warnings = kr$warnings),
    kenward_roger_anova = list(expr = 'anova(m, ddf = "Kenward-Roger")', table = rows(kra$value),
                               warnings = kra$warnings, seconds = kr_seconds),
    icc = list(expr = "performance::icc(m)", value = if (is.data.frame(icc$value)) as.list(icc$value) else NA,
               warnings = icc$warnings),
    icc_by_group = list(expr = "performance::icc(m, by_group = TRUE)",
                        value = if (is.data.frame(iccg$value)) as.data.frame(iccg$value) else NA,
                        warnings = iccg$warnings),
    r2_nakagawa = list(expr = "performance::r2_nakagawa(m)",
                       value = if (is.list(r2$value)) lapply(unclass(r2$value), unname) else NA,
                       warnings = r2$warnings),
    wald = list(expr = 'confint(m, method = "Wald")', value = rows(confint(m, method = "Wald"))))
  if (name %in% profiled) {
    t0 <- proc.time()[["elapsed"]]
    p <- quiet(confint(m, method = "profile"))
    secs <- proc.time()[["elapsed"]] - t0
    tp <- quiet(tight_profile(m))
    rec$profile <- list(expr = 'confint(m, method = "profile")', default = rows(p$value), warnings = p$warnings,
                        seconds = secs, tight = tp$value$value, tight_warnings = tp$warnings,
                        ml_deviance_tight = tp$value$ml_deviance, ml_theta_tight = tp$value$ml_theta)
  }
  out[[name]] <- rec
  message(name, " done")
}
writeLines(toJSON(list(source = "R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, performance 0.10.2, insight 0.19.0",
                       script = "tests/reference/inference.R", models = out),
                  auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out_file)
