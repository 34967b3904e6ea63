"""The command-line page, written from the argparse parsers of ``showattend`` so that it cannot drift."""
import argparse


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def _flags(action):
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        value = ""
    elif action.choices and not action.metavar:
        value = " {" + ",".join(str(choice) for choice in action.choices) + "}"
    else:
        value = f" {action.metavar or action.dest.upper()}"
    return ", ".join(f"`{flag}{value}`" for flag in action.option_strings)


def _help(action, parser):
    text = (action.help or "") % {"default": action.default, "prog": parser.prog} if action.help else ""
    text = f"{text[:1].upper()}{text[1:]}" + ("." if text and not text.endswith(".") else "")
    if action.choices and not isinstance(action.choices, dict):
        text += f" One of: {', '.join(f'`{choice}`' for choice in action.choices)}."
    if action.required and action.option_strings:
        text += " **Required.**"
    elif action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
        text += f" Default: `{action.default}`."
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _command(name, summary, parser):
    lines = [f"## `showattend {name}`", "", f"{summary[0].upper()}{summary[1:]}." if summary else "",
             "", parser.description or "", "", "```text", parser.format_usage().strip(), "```", ""]
    for group in parser._action_groups:
        actions = [action for action in group._group_actions if not isinstance(action, argparse._HelpAction)]
        if not actions:
            continue
        title = {"options": "Options", "optional arguments": "Options", "positional arguments": "Arguments"}.get(
            group.title, group.title[0].upper() + group.title[1:])
        lines += [f"**{title}**", "", "| Option | What it does |", "|---|---|"]
        lines += [f"| {_flags(action)} | {_help(action, parser)} |" for action in actions]
        lines.append("")
    return lines


def cli_reference(parser):
    """Markdown: every subcommand of ``parser`` with its usage and a table of its options.

    Args:
        parser: the ``argparse.ArgumentParser`` of the command, with subcommands.

    Returns:
        The Markdown text.
    """
    lines = []
    for name, summary, sub in _subcommands(parser):
        lines += _command(name, summary, sub)
    return "\n".join(lines)
