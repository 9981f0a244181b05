# Independent oracle for the warehouse's survey intervals: R's `survey` package on the same microdata.
#
#   Rscript survey_oracle.R microdata.csv estimates.csv   (src/wfm_tools/survey_oracle.py writes the microdata)
#
# microdata.csv: one row per respondent (all of a wave, whatever the scope, so the design sees every PSU):
#   wave, stratum, psu, w (design weight), the breakdown members (province, sex, skill), and per indicator its
#   variable, NA outside the indicator's domain or when the item is missing:
#   trn01 (0/1), skl02_y and skl02_x (0/1, the ratio (L3..L7) / (L1..L7)), nef02 (0/1, platform workers),
#   hrs01 (hours), wage (monthly wage).
# estimates.csv: one row per cell: code, wave, breakdown, member, statistic, estimate, se, df, lower, upper, n.
#
# The functions, one per kind of cell, each on the subset design of the cell (its domain, respondents with
# x != 0), so that degf() is the domain's own df (PSUs with a respondent minus their strata) and the variance
# still counts every PSU of the stratum (the subset keeps the design's n_h):
#   proportions  svyby(~y, ~member, design, svyciprop, method = "beta")  (Korn-Graubard), degf() per member
#   means        svymean(), confint(df = degf())
#   quantiles    svyquantile(ci = TRUE, interval.type = "mean", qrule = "math")  (Woodruff, df = degf()), and
#                Woodruff centred on p as the warehouse computes it: svymean(~I(wage <= q)) for the se of F(q),
#                survey:::qrule_math() at p -/+ qt(0.975, degf()) * se  (columns se_f, lower_p, upper_p)
#   skill premium  svyquantile() of the two medians, their linearised influence (slope from the Woodruff reading
#                above), svytotal() of the premium's score for its se, the smaller of the two levels' degf()
# A stratum with a single PSU contributes no variance (survey.lonely.psu = "certainty").

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "certainty")

args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[1], colClasses = c(wave = "character", stratum = "character", psu = "character",
                                        province = "character", sex = "character", skill = "character"))
data$national <- "CN"

rows <- list()
emit <- function(code, wave, breakdown, member, statistic, estimate, se, df, lower, upper, n,
                 se_f = NA, lower_p = NA, upper_p = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    code = code, wave = wave, breakdown = breakdown, member = member, statistic = statistic,
    estimate = estimate, se = se, df = df, lower = lower, upper = upper, n = n,
    se_f = se_f, lower_p = lower_p, upper_p = upper_p
  )
}

for (wave in sort(unique(data$wave))) {
  design <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = data[data$wave == wave, ], nest = TRUE)

  # proportions: Korn-Graubard per member by svyby, on the domain's subset design
  proportions <- list(
    list(code = "TRN01", y = "trn01", x = NULL, breakdowns = c("national", "province", "sex")),
    list(code = "SKL02", y = "skl02_y", x = "skl02_x", breakdowns = c("national", "province")),
    list(code = "NEF02", y = "nef02", x = NULL, breakdowns = c("national", "sex"))
  )
  for (spec in proportions) {
    keep <- !is.na(design$variables[[spec$y]])
    if (!is.null(spec$x)) keep <- keep & !is.na(design$variables[[spec$x]]) & design$variables[[spec$x]] != 0
    domain <- design[keep, ]
    for (breakdown in spec$breakdowns) {
      by <- svyby(as.formula(paste0("~", spec$y)), as.formula(paste0("~", breakdown)), domain, svyciprop,
                  method = "beta", vartype = c("se", "ci"))
      members <- as.character(by[[breakdown]])
      # svyciprop's own (Korn-Graubard) bounds, as svyby keeps them: confint() of a svyby object would be
      # the Wald interval from the se
      lower <- by[[grep("^ci_l", names(by))]]
      upper <- by[[grep("^ci_u", names(by))]]
      for (k in seq_along(members)) {
        part <- domain[domain$variables[[breakdown]] == members[k], ]
        emit(spec$code, wave, breakdown, members[k], "", coef(by)[k], SE(by)[k], degf(part),
             lower[k], upper[k], nrow(part))
      }
    }
  }

  # mean: t interval on the domain's df
  domain <- design[!is.na(design$variables$hrs01), ]
  for (breakdown in c("national", "province", "sex")) {
    for (member in sort(unique(domain$variables[[breakdown]]))) {
      part <- domain[domain$variables[[breakdown]] == member, ]
      m <- svymean(~hrs01, part)
      bounds <- confint(m, df = degf(part))
      emit("HRS01", wave, breakdown, member, "", coef(m)[1], SE(m)[1], degf(part), bounds[1, 1], bounds[1, 2],
           nrow(part))
    }
  }

  # quantiles: Woodruff's interval (interval.type "mean") on the domain's df
  probabilities <- c(0.10, 0.25, 0.50, 0.75, 0.90)
  domain <- design[!is.na(design$variables$wage), ]
  for (breakdown in c("national", "province", "skill")) {
    for (member in sort(unique(domain$variables[[breakdown]]))) {
      part <- domain[domain$variables[[breakdown]] == member, ]
      q <- svyquantile(~wage, part, quantiles = probabilities, ci = TRUE, se = TRUE, interval.type = "mean",
                       qrule = "math")$wage
      for (j in seq_along(probabilities)) {
        # svyquantile centres Woodruff's interval on F(q) = svymean(wage <= q); the warehouse (statistics.md)
        # centres it on p: the same se of F(q) and df, read with the same qrule at p -/+ t se (NaN outside [0, 1])
        p <- probabilities[j]
        f <- svymean(~I(wage <= q[j, 1]), part)
        se_f <- SE(f)[[grep("TRUE", names(coef(f)))]]
        t <- qt(0.975, degf(part))
        ends <- c(p - t * se_f, p + t * se_f)
        read <- sapply(ends, function(e) if (is.nan(e) || e < 0 || e > 1) NaN
                       else survey:::qrule_math(part$variables$wage, weights(part, "sampling"), e))
        emit("WAG01", wave, if (breakdown == "skill") "skill_level" else breakdown, member,
             paste0("P", round(100 * p)), q[j, 1], q[j, 4], degf(part), q[j, 2], q[j, 3],
             nrow(part), se_f, read[1], read[2])
      }
    }
  }

  # skill premium (WAG02): P50(level) / P50(L1), its se linearised (statistics.md): each median's influence
  # -slope * (I(wage <= q) - F(q)) / N on its domain, slope = Woodruff's (upper - lower) / (2 t se(F(q))) read at
  # p -/+ t se as above; u = (s_level - R s_L1) / q_L1 and its se by svytotal() on the wage domain's design
  median_of <- function(level) {
    part <- domain[domain$variables$skill == level, ]
    q <- svyquantile(~wage, part, quantiles = 0.5, ci = FALSE, qrule = "math")$wage[1, 1]
    f <- svymean(~I(wage <= q), part)
    cdf <- coef(f)[[grep("TRUE", names(coef(f)))]]
    se_f <- SE(f)[[grep("TRUE", names(coef(f)))]]
    if (degf(part) < 1 || !(se_f > 0)) return(NULL)  # no Woodruff slope: the warehouse has no se either
    t <- qt(0.975, degf(part))
    if (0.5 - t * se_f < 0 || 0.5 + t * se_f > 1) return(NULL)
    ends <- sapply(c(0.5 - t * se_f, 0.5 + t * se_f),
                   function(e) survey:::qrule_math(part$variables$wage, weights(part, "sampling"), e))
    slope <- (ends[2] - ends[1]) / (2 * t * se_f)
    inside <- domain$variables$skill == level
    score <- ifelse(inside, -slope * ((domain$variables$wage <= q) - cdf) / sum(weights(part, "sampling")), 0)
    list(q = q, score = score, n = nrow(part), df = degf(part))
  }
  levels <- sort(unique(domain$variables$skill))
  base <- if ("L1" %in% levels) median_of("L1") else NULL
  if (!is.null(base)) {
    for (level in levels[grepl("^L[2-9]$", levels)]) {
      top <- median_of(level)
      if (is.null(top)) next
      ratio <- top$q / base$q
      scored <- update(domain, u = (top$score - ratio * base$score) / base$q)
      se <- SE(svytotal(~u, scored))[[1]]
      df <- min(top$df, base$df)
      t <- qt(0.975, df)
      emit("WAG02", wave, "skill_level", level, "", 100 * (ratio - 1), 100 * se, df,
           100 * (ratio - 1 - t * se), 100 * (ratio - 1 + t * se), top$n)
    }
  }
}

write.csv(do.call(rbind, rows), args[2], row.names = FALSE)
cat(R.version.string, "; survey", as.character(packageVersion("survey")), "\n", sep = "")
