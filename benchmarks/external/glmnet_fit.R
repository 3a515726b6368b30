# glmnet worker for the mtlfast benchmark: reads one problem written by
# benchmarks/solvers.py as raw little-endian binary files, fits
#   1/(2n) ||Y - X W||_F^2 + lambda * sum_j ||W_j||_2      (family "mgaussian")
#   1/(2n) ||y - X w||^2   + lambda * ||w||_1              (T = 1, "gaussian")
# with standardize = FALSE, intercept = FALSE at the given lambdas and thresh,
# and writes the coefficients (p x T x L, column-major), the time of the
# glmnet() call alone (read and write excluded) and its peak resident memory.
# The problem is read once; each line on stdin asks for one fit:
#
#   Rscript glmnet_fit.R DIR        then lines  "THRESH LAMBDA_FILE OUT_PREFIX"
#
# and each fit is acknowledged by a line "ok" on stdout.
suppressPackageStartupMessages({library(Matrix); library(glmnet)})
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
shape <- scan(file.path(dir, "shape.txt"), quiet = TRUE)   # n p T is_sparse
n <- shape[1]; p <- shape[2]; nt <- shape[3]; is_sparse <- shape[4] == 1
rd <- function(name, what, k, size = NA_integer_)
  readBin(file.path(dir, name), what, k, size = size, endian = "little")
if (is_sparse) {
  indptr <- rd("indptr.bin", "integer", p + 1, 4)
  nnz <- indptr[p + 1]
  X <- sparseMatrix(i = rd("indices.bin", "integer", nnz, 4), p = indptr,
                    x = rd("data.bin", "double", nnz), dims = c(n, p), index1 = FALSE)
} else {
  X <- matrix(rd("X.bin", "double", n * p), n, p)
}
Y <- matrix(rd("Y.bin", "double", n * nt), n, nt)
# never stop a path early on small deviance changes: every lambda is solved
glmnet.control(fdev = 0, devmax = 1)

status <- function(key) {
  l <- grep(paste0("^", key, ":"), readLines("/proc/self/status"), value = TRUE)
  as.numeric(strsplit(trimws(sub(".*:", "", l)), " +")[[1]][1]) * 1024
}
fit_one <- function(thresh, lam_file, out) {
  lambdas <- readBin(lam_file, "double", file.info(lam_file)$size / 8, endian = "little")
  peak_ok <- tryCatch({cat("5", file = "/proc/self/clear_refs"); TRUE}, error = function(e) FALSE)
  rss0 <- if (peak_ok) status("VmRSS") else NA
  t0 <- proc.time()[["elapsed"]]
  fit <- if (nt == 1) {
    glmnet(X, Y[, 1], family = "gaussian", lambda = lambdas, standardize = FALSE,
           intercept = FALSE, thresh = thresh, maxit = 1e8)
  } else {
    glmnet(X, Y, family = "mgaussian", lambda = lambdas, standardize = FALSE,
           intercept = FALSE, thresh = thresh, maxit = 1e8)
  }
  elapsed <- proc.time()[["elapsed"]] - t0
  peak <- if (peak_ok) status("VmHWM") - rss0 else NA

  L <- length(lambdas)
  W <- array(0, c(p, nt, L))
  if (nt == 1) {
    W[, 1, ] <- as.matrix(fit$beta)
  } else {
    for (t in seq_len(nt)) W[, t, ] <- as.matrix(fit$beta[[t]])
  }
  writeBin(as.vector(W), paste0(out, ".W.bin"), endian = "little")
  writeLines(c(sprintf("%.9f", elapsed), ifelse(is.na(peak), "nan", sprintf("%.0f", peak)),
               as.character(packageVersion("glmnet"))), paste0(out, ".info.txt"))
}

con <- file("stdin")
open(con)
while (length(line <- readLines(con, n = 1)) > 0) {
  a <- strsplit(trimws(line), " +")[[1]]
  r <- tryCatch({fit_one(as.numeric(a[1]), a[2], a[3]); "ok"},
                error = function(e) paste("error:", gsub("\n", " ", conditionMessage(e))))
  cat(r, "\n", sep = "")
  flush(stdout())
}
