# Sourced by the benchmarks in bench/ (not run): where mlv is, and a git
# that reads nobody's configuration and writes the same commits every run.
#
#   MLV              the mlv binary (default ./mlv of this checkout)

top=$(cd "$(dirname "$0")/.." && pwd)
MLV=${MLV:-$top/mlv}
case "$MLV" in /*) ;; *) MLV=$top/$MLV ;; esac

# bench_git_env <work-dir>: fixed identities and dates, HOME inside <work-dir>.
bench_git_env() {
	export GIT_CONFIG_NOSYSTEM=1 HOME=$1/home LANG=C LC_ALL=C TZ=UTC
	export GIT_AUTHOR_DATE='1700000000 +0000' GIT_COMMITTER_DATE='1700000000 +0000'
	export GIT_AUTHOR_NAME='A U Thor' GIT_AUTHOR_EMAIL=author@example.com
	export GIT_COMMITTER_NAME='C O Mitter' GIT_COMMITTER_EMAIL=committer@example.com
}
