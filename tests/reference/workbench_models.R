# Every model of the workbench session, refitted with lme4.
# Put the data file(s) beside this script, or change the paths.
library(lme4)

# Your file immune_eu.csv (1,620 rows)
d <- read.csv2("immune_eu.csv", check.names = FALSE, fileEncoding = "latin1")
d$`Fam ID` <- factor(d$`Fam ID`)
d$IndID <- factor(d$IndID)
d$Sex <- factor(d$Sex)
data1 <- d

# ImmuneData with Low = IgG < 100 (0/1, for binomial)
d <- read.csv("ImmuneData.csv")
d$Low <- as.integer(d$IgG < 100)
d$FamID <- factor(d$FamID)
d$IndID <- factor(d$IndID)
d$Sex <- factor(d$Sex)
data2 <- d

# Simulated counts by dose (for Poisson)
d <- read.csv("SimulatedCounts.csv")
d$Site <- factor(d$Site)
data3 <- d

m1 <- lmer(`Ig G` ~ Sex * `Mois écoulés` + (1 + `Mois écoulés` | `Fam ID`), data = data1)
summary(m1)

m2 <- lmer(`Ig G` ~ Sex * `Mois écoulés` + (1 + `Mois écoulés` | `Fam ID`) + (1 | Sex:IndID), data = data1, REML = FALSE)
summary(m2)

m3 <- glmer(Low ~ Sex + Time + (1 | FamID), data = data2, family = binomial)
summary(m3)

m4 <- glmer(Count ~ Dose + (1 | Site), data = data3, family = poisson)
summary(m4)

# -- lme4's answers for the test
suppressMessages(library(jsonlite))
out <- lapply(list(m1 = m1, m2 = m2, m3 = m3, m4 = m4), function(m) list(logLik = as.numeric(logLik(m)), df = attr(logLik(m), 'df'), nobs = nobs(m), fixef = as.list(fixef(m))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), "workbench_models.json")
