# lme4's default stop and the criterion's optimum for the models the tests use beyond the shared
# references (glmer probit / AGQ / nAGQ = 0 / singular / two terms; lmer predictions and condVar),
# in the manner of shared/reference/optimum.R: the default fit, then tight refits from its stop with
# four optimizers; the lowest criterion is the optimum.
# usage: Rscript extra_optimum.R SHARED_REFERENCE_DIR OUT.json   (R 4.2.2, lme4 1.1-31)
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE); dir <- args[1]; out_file <- args[2]
d <- read.csv(file.path(dir, "ImmuneData_exact.csv"))
for (c in c("IndID", "FamID", "Sex")) d[[c]] <- factor(d[[c]])
d$Low <- as.integer(d$IgG < 100)
agg <- read.csv(file.path(dir, "ImmuneMonthsLow.csv")); agg$FamID <- factor(agg$FamID); agg$IndID <- factor(agg$IndID)
sim <- read.csv(file.path(dir, "SimulatedCounts.csv")); sim$Site <- factor(sim$Site)
sub <- subset(d, Time %in% c(0, 17))
newd <- data.frame(Sex = c("M", "F"), Time = c(3, 5), FamID = c("2", "9"), IndID = c("45", "999"))
tight_g <- list(
  bobyqa = glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6), calc.derivs = FALSE),
  Nelder_Mead = glmerControl(optimizer = "Nelder_Mead", optCtrl = list(FtolAbs = 1e-16, FtolRel = 1e-16, XtolRel = 1e-12, maxfun = 1e6), calc.derivs = FALSE),
  nloptwrap = glmerControl(optimizer = "nloptwrap", optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-16, xtol_rel = 0, ftol_rel = 0, maxeval = 1e6), calc.derivs = FALSE))
tight_l <- list(
  bobyqa = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6), calc.derivs = FALSE),
  Nelder_Mead = lmerControl(optimizer = "Nelder_Mead", optCtrl = list(FtolAbs = 1e-16, FtolRel = 1e-16, XtolRel = 1e-12, maxfun = 1e6), calc.derivs = FALSE),
  nloptwrap = lmerControl(optimizer = "nloptwrap", optCtrl = list(xtol_abs = 1e-12, ftol_abs = 1e-16, xtol_rel = 0, ftol_rel = 0, maxeval = 1e6), calc.derivs = FALSE))
pt <- function(m) list(logLik = as.numeric(logLik(m)), theta = unname(getME(m, "theta")),
                       fixef = unname(fixef(m)), singular = isSingular(m),
                       conv_messages = m@optinfo$conv$lme4$messages)
case <- function(m0, fit_with) {
  runs <- lapply(names(fit_with), function(o) tryCatch(suppressWarnings(suppressMessages(fit_with[[o]]())),
                                                       error = function(e) { message(o, ": ", conditionMessage(e)); NULL }))
  runs <- runs[!sapply(runs, is.null)]
  best <- runs[[which.max(sapply(runs, function(m) as.numeric(logLik(m))))]]
  list(lme4_default = pt(m0), optimum = pt(best), best = best, default = m0)
}
gcase <- function(f, data, family, nAGQ = 1) {
  m0 <- suppressWarnings(suppressMessages(glmer(f, data = data, family = family, nAGQ = nAGQ)))
  st <- if (nAGQ == 0) list(theta = getME(m0, "theta")) else list(theta = getME(m0, "theta"), fixef = getME(m0, "beta"))
  fw <- lapply(tight_g, function(ctl) { force(ctl); function() glmer(f, data = data, family = family, nAGQ = nAGQ, control = ctl, start = st) })
  case(m0, fw)
}
res <- list()
strip <- function(x) x[c("lme4_default", "optimum")]
res$probit <- strip(gcase(Low ~ Sex * Time + (1 | FamID), d, family = binomial(link = "probit")))
res$cbind_agq7 <- strip(gcase(cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID), agg, family = binomial, nAGQ = 7))
res$cbind_nagq0 <- strip(gcase(cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID), agg, family = binomial, nAGQ = 0))
res$poisson_agq5 <- strip(gcase(Count ~ Dose + (1 | Site), sim, family = poisson, nAGQ = 5))
res$singular_binary <- strip(gcase(Low ~ Sex + (1 | FamID), sub, family = binomial))
res$cbind_two_terms <- strip(gcase(cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID) + (1 | IndID), agg, family = binomial))
m0 <- lmer(IgG ~ Sex * Time + (1 + Time | FamID), data = d)
fw <- lapply(tight_l, function(ctl) { force(ctl); function() lmer(IgG ~ Sex * Time + (1 + Time | FamID), data = d, control = ctl, start = list(theta = getME(m0, "theta"))) })
c2 <- case(m0, fw)
pr <- function(m) list(predict = unname(predict(m, newd, allow.new.levels = TRUE)),
                       predict_population = unname(predict(m, newd, re.form = NA)))
res$MModTime2_predict <- list(lme4_default = pr(c2$default), optimum = pr(c2$best))
m4 <- lmer(IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID), data = d)
fw <- lapply(tight_l, function(ctl) { force(ctl); function() lmer(IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID), data = d, control = ctl, start = list(theta = getME(m4, "theta"))) })
c4 <- case(m4, fw)
cv <- function(m) { r <- ranef(m, condVar = TRUE); a <- attr(r[["Sex:IndID"]], "postVar"); b <- attr(r[["FamID"]], "postVar")
  list(SexInd_1 = as.vector(a[, , 1]), SexInd_200 = as.vector(a[, , 200]), FamID_3 = as.vector(b[, , 3])) }
res$MModTime4_condvar <- list(lme4_default = cv(c4$default), optimum = cv(c4$best))
writeLines(toJSON(list(source = paste("R", getRversion(), "lme4", packageVersion("lme4")), cases = res),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE), out_file)
cat("done\n")
