# bash completion for rtprof(1).                                          -*- shell-script -*-
# Installed as bash-completion's completions/rtprof; works without bash-completion too (`source` it).
# The commands and each command's options are those of `rtprof --help` and `rtprof COMMAND --help`:
# tests/integration/test_completion.py fails when they differ.

_rtprof_commands="run attach report export compare sessions query detach status top"
_rtprof_global_opts="--verbose --btf --socket --version --help"

# The long options of a command (those its --help lists, and --help).
_rtprof_command_opts()
{
	case $1 in
	run) echo "--json --output --max-size --trace-buffer --duration --no-follow --top --exact-latency --no-runtime
		--gil --stacks --sample-hz --loop-threshold-ms --per-thread --as-root --all-processes --quiet --help" ;;
	attach) echo "--json --output --duration --max-size --trace-buffer --local --socket --no-follow --top
		--exact-latency --no-runtime --gil --stacks --sample-hz --loop-threshold-ms --per-thread --quiet --help" ;;
	report) echo "--json --top --per-thread --timeline --resolution --help" ;;
	export) echo "--format --profile --output --min-syscall-us --load-bucket-ms --help" ;;
	compare) echo "--json --top --run --runs --warmup --format --stacks --quiet --help" ;;
	sessions) echo "--json --socket --help" ;;
	query) echo "--json --window --top --socket --help" ;;
	detach) echo "--socket --help" ;;
	status) echo "--json --socket --help" ;;
	top) echo "--delay --iterations --batch --sort --socket --help" ;;
	esac
}

# Does option $2 of command $1 (empty: the global options) take a value in the next word?
_rtprof_takes_value()
{
	case $1:$2 in
	:--btf | :--socket) return 0 ;;
	run:-o | run:--output | run:-d | run:--duration | run:--max-size | run:--top | run:--socket) return 0 ;;
	attach:-o | attach:--output | attach:-d | attach:--duration | attach:--max-size | attach:--top | attach:--socket) return 0 ;;
	run:--gil | run:--trace-buffer | attach:--gil | attach:--trace-buffer) return 0 ;;
	run:--sample-hz | attach:--sample-hz | run:--loop-threshold-ms | attach:--loop-threshold-ms) return 0 ;;
	report:--top | report:--resolution) return 0 ;;
	export:-f | export:--format | export:-o | export:--output | export:--min-syscall-us | export:--load-bucket-ms) return 0 ;;
	export:-p | export:--profile) return 0 ;;
	compare:--top | compare:--run | compare:--runs | compare:--warmup | compare:--format) return 0 ;;
	sessions:--socket | status:--socket | detach:--socket) return 0 ;;
	query:--socket | query:--top) return 0 ;;
	top:-d | top:--delay | top:-n | top:--iterations | top:-s | top:--sort | top:--socket) return 0 ;;
	esac
	return 1
}

# COMPREPLY=( the words of $1 that start with $2 )
_rtprof_words()
{
	local IFS=$' \t\n'
	# shellcheck disable=SC2207
	COMPREPLY=($(compgen -W "$1" -- "$2"))
}

# COMPREPLY=( files ending in one of the suffixes $2... that start with $1, and directories )
_rtprof_files()
{
	local cur=$1 suffix line
	shift
	local -A seen=()
	COMPREPLY=()
	compopt -o filenames 2>/dev/null
	while IFS= read -r line; do
		[[ -n $line && -z ${seen[$line]} ]] || continue
		seen[$line]=1
		COMPREPLY+=("$line")
	done < <(
		compgen -d -- "$cur"
		if (($# == 0)); then
			compgen -f -- "$cur"
		else
			for suffix in "$@"; do
				compgen -f -X "!*$suffix" -- "$cur"
			done
		fi
	)
}

# COMPREPLY=( the pids of /proc that start with $1 )
_rtprof_pids()
{
	local d pids=()
	for d in /proc/[0-9]*; do
		pids+=("${d#/proc/}")
	done
	_rtprof_words "${pids[*]}" "$1"
}

# The value of option $2 of command $1, of which $3 was typed.
_rtprof_value()
{
	local cmd=$1 opt=$2 cur=$3
	case $opt in
	--btf | --socket) _rtprof_files "$cur" ;;
	-o | --output) _rtprof_files "$cur" ;; # a new file, usually
	-f | --format) _rtprof_words "chrome folded csv speedscope svg pprof" "$cur" ;;
	-p | --profile) _rtprof_words "cpu offcpu gil loop syscalls" "$cur" ;;
	-s | --sort) _rtprof_words "cpu runq switches tid" "$cur" ;;
	--gil) _rtprof_words "futex uprobes" "$cur" ;;
	*) COMPREPLY=() ;; # a number
	esac
}

_rtprof()
{
	local cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]}
	local -a words=("${COMP_WORDS[@]}")
	local i w cmd="" cmd_at=0
	COMPREPLY=()

	# --opt=VALUE: bash splits the words at '=' (COMP_WORDBREAKS); complete VALUE for --opt
	local eq_opt=""
	if [[ $cur == "=" && $cword -ge 1 ]]; then
		eq_opt=${words[cword - 1]}
		cur=""
	elif [[ $cword -ge 2 && ${words[cword - 1]} == "=" ]]; then
		eq_opt=${words[cword - 2]}
	fi

	# the command: the first word that is neither a global option nor its value
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -?* ]]; then
			if [[ ${words[i + 1]} == "=" ]]; then
				((i += 2)) # --opt = VALUE
			elif [[ $w != *=* ]] && _rtprof_takes_value "" "$w"; then
				((i++))
			fi
			continue
		fi
		cmd=$w
		cmd_at=$i
		break
	done

	if [[ -z $cmd ]]; then
		if [[ -n $eq_opt ]]; then
			_rtprof_value "" "$eq_opt" "$cur"
		elif ((cword >= 2)) && _rtprof_takes_value "" "${words[cword - 1]}"; then
			_rtprof_value "" "${words[cword - 1]}" "$cur"
		elif [[ $cur == -* ]]; then
			_rtprof_words "$_rtprof_global_opts" "$cur"
		else
			_rtprof_words "$_rtprof_commands" "$cur"
		fi
		return 0
	fi

	# the command's own words: its options and their values, then its operands
	local operands=0 prog_at=0 dashdash=0
	for ((i = cmd_at + 1; i < cword; i++)); do
		w=${words[i]}
		if ((!dashdash)) && [[ $w == "--" ]]; then
			dashdash=1
			[[ $cmd == run ]] && { prog_at=$((i + 1)); break; }
			continue
		fi
		if ((!dashdash)) && [[ $w == -?* ]]; then
			if [[ ${words[i + 1]} == "=" ]]; then
				((i += 2)) # --opt = VALUE
			elif [[ $w != *=* ]] && _rtprof_takes_value "$cmd" "$w"; then
				((i++))
			fi
			continue
		fi
		# run: the first operand is the command to profile (getopt stops there)
		if [[ $cmd == run ]]; then
			prog_at=$i
			break
		fi
		((operands++))
	done

	if [[ $cmd == run ]] && ((prog_at > 0)); then
		if ((cword == prog_at)); then
			compopt -o filenames 2>/dev/null
			_rtprof_words "$(compgen -c -- "$cur" | sort -u)" "$cur"
		elif declare -F _command_offset >/dev/null; then
			_command_offset "$prog_at" # bash-completion: complete COMMAND's own arguments
		else
			_rtprof_files "$cur"
		fi
		return 0
	fi

	if [[ -n $eq_opt ]]; then
		_rtprof_value "$cmd" "$eq_opt" "$cur"
		return 0
	fi
	if ((!dashdash)) && ((cword - 1 > cmd_at)) && [[ ${words[cword - 1]} == -?* ]] &&
		_rtprof_takes_value "$cmd" "${words[cword - 1]}"; then
		_rtprof_value "$cmd" "${words[cword - 1]}" "$cur"
		return 0
	fi
	if ((!dashdash)) && [[ $cur == -* ]]; then
		_rtprof_words "$(_rtprof_command_opts "$cmd")" "$cur"
		return 0
	fi

	case $cmd in
	run) compopt -o filenames 2>/dev/null; _rtprof_words "$(compgen -c -- "$cur" | sort -u)" "$cur" ;;
	attach) _rtprof_pids "$cur" ;;
	report | export) ((operands == 0)) && _rtprof_files "$cur" .rtprof.gz .rtprof ;;
	compare) _rtprof_files "$cur" .rtprof.gz .rtprof .json ;;
	query) ((operands == 1)) && _rtprof_words "summary syscalls threads sched" "$cur" ;;
	*) ;; # sessions, status, top: no operand; detach, query: a session number
	esac
	return 0
}

complete -F _rtprof rtprof
