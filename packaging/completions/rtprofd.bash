# bash completion for rtprofd(8).                                         -*- shell-script -*-
# Installed as bash-completion's completions/rtprofd; works without bash-completion too (`source` it).
# The options are those of `rtprofd --help`: tests/integration/test_completion.py fails when they differ.

_rtprofd()
{
	local cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} prev="" IFS=$' \t\n'
	COMPREPLY=()
	if ((cword >= 1)); then
		prev=${COMP_WORDS[cword - 1]}
	fi
	# --opt=VALUE: bash splits the words at '=' (COMP_WORDBREAKS)
	if [[ $cur == "=" ]]; then
		cur=""
	elif [[ $prev == "=" ]] && ((cword >= 2)); then
		prev=${COMP_WORDS[cword - 2]}
	fi

	case $prev in
	-c | --config | -s | --socket)
		compopt -o filenames 2>/dev/null
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--group)
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -g -- "$cur"))
		return 0
		;;
	-w | --watch)
		# shellcheck disable=SC2207
		COMPREPLY=($(compgen -W "python node python,node none" -- "$cur"))
		return 0
		;;
	--retention | --window | --metrics | --sample-hz | --push | --push-interval)
		return 0 # seconds; ADDR:PORT
		;;
	esac
	# shellcheck disable=SC2207
	COMPREPLY=($(compgen -W "--config --socket --group --watch --retention --window --stacks --sample-hz --push --push-interval --metrics --foreground
		--verbose --version --help" -- "$cur"))
	return 0
}

complete -F _rtprofd rtprofd
