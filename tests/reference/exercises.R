# Reference values for the exercises' likelihood-ratio questions beyond shared/reference/seed_lme4.json:
# a comparison whose p is not small (the test then favours the simpler model).
# usage: Rscript exercises.R SHARED_REFERENCE_DIR OUT.json   (R 4.2.2, lme4 1.1-31, lmtest 0.9-40)
suppressMessages({library(lme4); library(lmtest); library(jsonlite)})
args <- commandArgs(TRUE); dir <- args[1]; out_file <- args[2]
d <- read.csv(file.path(dir, "ImmuneData_exact.csv"))
for (c in c("IndID", "FamID", "Sex")) d[[c]] <- factor(d[[c]])
init <- subset(d, Time == 0)  # InitIgG
table_of <- function(t) list(df = t[["#Df"]], logLik = t$LogLik, chisq = t$Chisq[2], p = t[["Pr(>Chisq)"]][2])
withind <- lmer(IgG ~ Sex + (1 | FamID) + (1 | IndID), data = init)
mmod <- lmer(IgG ~ Sex + (1 | FamID), data = init)
out <- list(IndID_vs_MMod = table_of(lrtest(withind, mmod)))
writeLines(toJSON(out, auto_unbox = TRUE, digits = 15, pretty = TRUE), out_file)
