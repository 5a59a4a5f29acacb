# Reference values for lib.engine.pooling (no, complete and partial pooling, caterpillar intervals).
# usage: Rscript pooling.R SHARED_REFERENCE_DIR OUT.json   (R 4.2.2, lme4 1.1-31)
# Partial pooling is lme4's prediction at lme4's own theta (recorded here), so the test evaluates our
# engine at that theta: what follows from a theta is arithmetic (as tests/engine/test_lmer_parity.py).
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE); dir <- args[1]; out_file <- args[2]
d <- read.csv(file.path(dir, "ImmuneData_exact.csv"))
for (c in c("IndID", "FamID", "Sex")) d[[c]] <- factor(d[[c]])
d$Person <- factor(paste(d$Sex, d$IndID, sep = ":"))  # the labels of lme4's Sex:IndID
init <- subset(d, Time == 0)

named <- function(m) lapply(split(as.data.frame(m), rownames(m)), as.list)  # row name -> columns
fit_info <- function(m) list(theta = unname(getME(m, "theta")), REML = isREML(m))

# no pooling: lmList; its (Intercept) and Time are a family's female line
fam_own <- coef(lmList(IgG ~ Sex * Time | FamID, data = d))
person_own <- coef(lmList(IgG ~ Time | Person, data = d))
init_own <- coef(lmList(IgG ~ Sex | FamID, data = init))

# partial pooling: predictions at Time 0 and 1 for every person (all random effects), and coef()
m2 <- lmer(IgG ~ Sex * Time + (1 + Time | FamID), data = d)
m4 <- lmer(IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID), data = d)
m0 <- lmer(IgG ~ Sex + (1 | FamID), data = init)
people <- unique(d[, c("Sex", "IndID", "FamID", "Person")])
at0 <- transform(people, Time = 0); at1 <- transform(people, Time = 1)
p0 <- predict(m4, newdata = at0); p1 <- predict(m4, newdata = at1)
person_partial <- setNames(lapply(seq_len(nrow(people)), function(i)
  list(intercept = unname(p0[i]), slope = unname(p1[i] - p0[i]))), as.character(people$Person))
re4 <- ranef(m4, condVar = TRUE)
pv <- attr(re4[["FamID"]], "postVar")
condsd <- t(sqrt(apply(pv, 3, diag))); dimnames(condsd) <- dimnames(re4$FamID)

out <- list(
  family_own = named(fam_own[, c("(Intercept)", "Time")]),
  person_own = named(person_own),
  init_own = named(init_own[, "(Intercept)", drop = FALSE]),
  complete = as.list(coef(lm(IgG ~ Sex * Time, data = d))),
  complete_init = as.list(coef(lm(IgG ~ Sex, data = init))),
  MModTime2 = c(fit_info(m2), list(coef_FamID = named(coef(m2)$FamID[, c("(Intercept)", "Time")]))),
  MModTime4 = c(fit_info(m4), list(person_partial = person_partial,
                                   FamID_mode = named(re4$FamID),
                                   FamID_condsd = named(condsd))),
  MMod = c(fit_info(m0), list(coef_FamID = named(coef(m0)$FamID[, "(Intercept)", drop = FALSE])))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = 15, pretty = TRUE), out_file)
