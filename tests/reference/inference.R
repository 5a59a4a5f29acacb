# Reference figures for the inference tests (issue 17): lmerTest's Satterthwaite and Kenward-Roger
# tables (pbkrtest), performance's ICC and Nakagawa R2, and lme4's profile confidence intervals, for
# the tutorial's seven lmer fits (REML, lme4's defaults) on ImmuneData_exact.csv.
# usage: Rscript inference.R SHARED_REFERENCE_DIR OUT.json [MODEL ...]
#   (with model names, only those are computed and merged into an existing OUT.json)
# Made with R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, performance 0.10.2, insight 0.19.0
# (Debian bookworm: r-cran-lmertest, r-cran-pbkrtest, r-cran-performance).
#
# Each figure is stored under the R expression that made it (`expr`), `m` being the fit:
#   satterthwaite:  summary(m)$coefficients and anova(m) (type III) with lmerTest's default ddf
#   kenward_roger:  summary(m, ddf = "Kenward-Roger")$coefficients and anova(m, ddf = "Kenward-Roger"),
#                   computed as lmerTest computes them but with pbkrtest's vcovAdj(m) made once (lmerTest
#                   remakes it for every row): per coefficient Lb_ddf(L, vcov(m), vcovAdj(m)) and
#                   sqrt(L' vcovAdj(m) L); per term pbkrtest:::.KR_adjust(vcovAdj(m), vcov(m), L, fixef(m), 0)
#                   for the hypotheses L of attr(anova(m), "hypotheses"), laid out by lmerTest's mk_Ftable
#   hypotheses:     attr(anova(m), "hypotheses") (lmerTest's type III contrasts)
#   icc, r2:        performance::icc(m), icc(m, by_group = TRUE), r2_nakagawa(m)
#   confint:        confint(m, method = "Wald"), confint(m, method = "profile") with lme4's defaults
#                   ("default"), and the same profile computed tightly ("tight": the ML refit by
#                   bobyqa to rhoend = 1e-12 from lme4's stop, profiled with bobyqa at rhoend = 1e-12
#                   and steps of cutoff / 32 instead of cutoff / 8), which removes the error of
#                   lme4's loose inner optimizer and of its spline through few points. MModTime4 has the
#                   default profile only: its tight one takes hours on a 2-core machine.
suppressMessages({library(lmerTest); library(pbkrtest); library(performance); library(jsonlite)})
args <- commandArgs(TRUE); dir <- args[1]; out_file <- args[2]; only <- args[-(1:2)]
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
tight_profiled <- setdiff(profiled, "MModTime4")

rows <- function(x) { df <- as.data.frame(x); df$`_row` <- rownames(df); df }
quiet <- function(expr) {
  warns <- character(0)
  value <- withCallingHandlers(suppressMessages(expr), warning = function(w) {
    warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = value, warnings = warns)
}
kenward_roger <- function(m, hyp) {
  PhiA <- pbkrtest::vcovAdj(m); Phi <- as.matrix(vcov(m)); b <- fixef(m)
  coef <- t(sapply(seq_along(b), function(j) {
    L <- as.numeric(seq_along(b) == j); se <- sqrt(sum(L * (as.matrix(PhiA) %*% L)))
    df <- pbkrtest::Lb_ddf(L, Phi, PhiA); t <- b[[j]] / se
    c(Estimate = b[[j]], `Std. Error` = se, df = df, `t value` = t, `Pr(>|t|)` = 2 * pt(abs(t), df, lower.tail = FALSE))
  }))
  rownames(coef) <- names(b)
  hyp <- hyp[sapply(hyp, function(L) NROW(L) > 0 && NCOL(L) > 0)]
  if (!length(hyp)) return(list(coef = coef, anova = data.frame()))
  anova <- do.call(rbind, lapply(hyp, function(L) {
    x <- pbkrtest:::.KR_adjust(PhiA, Phi, L, b, 0)
    MS <- x$FstatU * sigma(m)^2
    data.frame(`Sum Sq` = MS * x$ndf, `Mean Sq` = MS, NumDF = x$ndf, DenDF = x$ddf, `F value` = x$Fstat,
               `Pr(>F)` = x$p.value, check.names = FALSE)
  }))
  rownames(anova) <- names(hyp)
  list(coef = coef, anova = anova)
}
tight_profile <- function(m) {
  ml <- lme4::lmer(formula(m), data = m@frame, REML = FALSE, start = list(theta = getME(refitML(m), "theta")),
                   control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6)))
  pr <- profile(ml, optimizer = "bobyqa", control = list(rhoend = 1e-12), delta.cutoff = 1 / 32)
  list(value = rows(confint(pr)), ml_deviance = deviance(ml), ml_theta = unname(getME(ml, "theta")))
}
out <- if (length(only) && file.exists(out_file)) fromJSON(out_file, simplifyVector = FALSE)$models else list()
for (name in if (length(only)) only else names(models)) {
  f <- models[[name]][[1]]; dat <- models[[name]][[2]]
  m <- suppressMessages(lmer(f, data = dat))
  s <- quiet(summary(m)$coefficients)
  a <- quiet(anova(m))
  hyp <- attr(a$value, "hypotheses")
  t0 <- proc.time()[["elapsed"]]
  kr <- quiet(kenward_roger(m, hyp))
  kr_seconds <- proc.time()[["elapsed"]] - t0
  icc <- quiet(performance::icc(m))
  iccg <- quiet(performance::icc(m, by_group = TRUE))
  r2 <- quiet(performance::r2_nakagawa(m))
  rec <- list(
    formula = paste(deparse(f), collapse = ""), theta = unname(getME(m, "theta")), REMLcrit = REMLcrit(m),
    satterthwaite = list(expr = "summary(m)$coefficients", coef = rows(s$value), warnings = s$warnings),
    satterthwaite_anova = list(expr = "anova(m)", table = rows(a$value), warnings = a$warnings),
    hypotheses = list(expr = 'attr(anova(m), "hypotheses")', value = lapply(hyp, function(L) unname(as.matrix(L)))),
    kenward_roger = list(expr = 'summary(m, ddf = "Kenward-Roger")$coefficients', coef = rows(kr$value$coef),
                         warnings = kr$warnings, seconds = kr_seconds),
    kenward_roger_anova = list(expr = 'anova(m, ddf = "Kenward-Roger")', table = rows(kr$value$anova)),
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
    rec$profile <- list(expr = 'confint(m, method = "profile")', default = rows(p$value), warnings = p$warnings,
                        seconds = secs)
    if (name %in% tight_profiled) {
      tp <- quiet(tight_profile(m))
      rec$profile <- c(rec$profile, list(tight = tp$value$value, tight_warnings = tp$warnings,
                                         ml_deviance_tight = tp$value$ml_deviance, ml_theta_tight = tp$value$ml_theta))
    }
  }
  out[[name]] <- rec
  writeLines(toJSON(list(source = "R 4.2.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, performance 0.10.2, insight 0.19.0",
                         script = "tests/reference/inference.R", models = out),
                    auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), out_file)
  message(name, " done")
}
