"""`opus-desktop profile add | list | show | test | remove`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from opus_desktop import profiles
from opus_desktop.cli.exits import EXIT_OK, EXIT_UNREACHABLE
from opus_desktop.cli.inputs import terminal_prompt
from opus_desktop.cli.parsing import examples
from opus_desktop.core.schema import load_template
from opus_desktop.errors import AppError
from opus_desktop.jsonfile import load_json
from opus_desktop.presets import DEFAULT_IDENTITY, PROTOCOLS
from opus_desktop.profiles import Profile, ProfileError
from opus_desktop.usecases.connection import find_password
from opus_desktop.usecases.profile_checks import ProfileRefused, add_profile


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "profile",
        help="add, list, show, test or remove connection profiles",
        description="A profile is what a command needs to reach one Opus connection: the API "
        "URL, the app registration's client id and certificate, and the connection's columns.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add",
        help="add a profile (or replace one with the same name)",
        description="Save a connection profile after checking it: the template is read, the "
        "certificate opens with its password, its key matches and it is valid now (--force "
        "saves it even so). Nothing is sent to Opus; `profile test NAME` tries it.",
        epilog=examples(
            "opus-desktop profile add Prod --connection connection.json --client-id ID \\",
            "    --cert app.pfx --cert-password-env OPUS_PFX_PASSWORD \\",
            "    --api https://graph-au.avepointonlineservices.com",
        ),
    )
    add.add_argument("name", metavar="NAME", help="the profile's name, as other commands take it")
    add.add_argument(
        "--connection",
        type=Path,
        required=True,
        metavar="FILE.json",
        help="the connection template downloaded from Opus (Settings > Connector)",
    )
    add.add_argument(
        "--client-id", required=True, metavar="ID", help="the app registration's client id"
    )
    cert = add.add_mutually_exclusive_group(required=True)
    cert.add_argument(
        "--cert", type=Path, metavar="FILE.pfx", help="certificate and key in a .pfx file"
    )
    cert.add_argument(
        "--cert-pem", type=Path, metavar="CERT.pem", help="certificate in PEM (with --key-pem)"
    )
    add.add_argument("--key-pem", type=Path, metavar="KEY.pem", help="private key in PEM")
    add.add_argument(
        "--cert-password-env",
        metavar="VAR",
        help="name of the environment variable holding the certificate password",
    )
    add.add_argument(
        "--identity",
        default=DEFAULT_IDENTITY,
        metavar="URL",
        help="the identity service that signs the app in (default: %(default)s, the "
        "commercial cloud)",
    )
    add.add_argument(
        "--api", required=True, metavar="URL", help="the Opus API URL of your data centre"
    )
    add.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="graph",
        type=str.lower,
        metavar="|".join(PROTOCOLS),
        help="the API the tenant offers: graph (the Graph API) or legacy (the older API, which "
        "needs --destroy-path for destroy) (default: %(default)s)",
    )
    add.add_argument(
        "--date-format",
        default=profiles.DEFAULT_DATE_FORMAT,
        metavar="F",
        help="the tenant's date and time format, e.g. 'dd-MM-yyyy HH:mm:ss' "
        "(default: '%(default)s')",
    )
    add.add_argument(
        "--destroy-path",
        default="",
        metavar="PATH",
        help="legacy API only: the path of the call that marks records destroyed, from the "
        "tenant's API page (no public document names it, so there is no default)",
    )
    add.add_argument(
        "--mapping",
        type=Path,
        metavar="M.json",
        help="the column mapping validate and submit use without --mapping (default: headers "
        "matched to columns by name)",
    )
    add.add_argument(
        "--options",
        type=Path,
        metavar="FILE.json",
        help='choice options and terms: {"choices": {col: {label: n}}, "terms": {col: [paths]}}',
    )
    add.add_argument(
        "--require-created-by",
        action="store_true",
        help="Graph API: a record with an empty Created by or Modified by is a problem, not "
        "a warning (the Graph API documents both as required)",
    )
    add.add_argument(
        "--refuse-modified-before-created",
        action="store_true",
        help="a record whose Modified time is earlier than its Created time is a problem "
        "(default: a warning on the Modified time cell; the record can still be sent)",
    )
    add.add_argument(
        "--force",
        action="store_true",
        help="save even when the certificate check fails (e.g. before the certificate's "
        "start date, or a password variable set only where scripts run)",
    )
    add.set_defaults(func=run_add)

    actions.add_parser(
        "list",
        help="list the profiles",
        description="List the saved profiles: name, API and URL, one a line.",
    ).set_defaults(func=run_list)
    show = actions.add_parser(
        "show",
        help="show one profile's settings and columns",
        description="Show a profile's settings and its connection's columns (no password).",
    )
    show.add_argument("name", metavar="NAME", help="the profile's name")
    show.set_defaults(func=run_show)
    test = actions.add_parser(
        "test",
        help="sign in and ask for one due record, step by step",
        description="Check a profile step by step: its settings, the certificate, the "
        "identity service's configuration, signing in, and one due-records call. Stops at "
        "the first step that fails and says why.",
    )
    test.add_argument("name", metavar="NAME", help="the profile's name")
    test.set_defaults(func=run_test)
    remove = actions.add_parser(
        "remove",
        help="remove a profile and its stored password",
        description="Remove a profile, its copy of the connection template and its password "
        "in the keyring. Runs in the journal that used it are kept.",
    )
    remove.add_argument("name", metavar="NAME", help="the profile's name")
    remove.set_defaults(func=run_remove)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ProfileError(f"Cannot read the {what} {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise ProfileError(f"The {what} {path} is not UTF-8 text (byte {exc.start}).") from None
    data = load_json(
        text, f"The {what} {path}", f"an {what}" if what[0] in "aeio" else f"a {what}", ProfileError
    )
    if not isinstance(data, dict):
        raise ProfileError(f"The {what} {path} should hold a JSON object.")
    return data


def _options(path: Path | None) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    if path is None:
        return {}, {}
    data = _read_json(path, "options file")
    choices = data.get("choices", {})
    terms = data.get("terms", {})
    if not isinstance(choices, dict) or not all(
        isinstance(v, dict) and all(isinstance(n, int) and n > 0 for n in v.values())
        for v in choices.values()
    ):
        raise ProfileError(
            f'In {path}, "choices" must map each column to {{"label": option number}}.'
        )
    if not isinstance(terms, dict) or not all(isinstance(v, list | dict) for v in terms.values()):
        raise ProfileError(f'In {path}, "terms" must map each column to a list of term paths.')
    return choices, {column: [str(t) for t in paths] for column, paths in terms.items()}


def run_add(args: argparse.Namespace) -> int:
    if args.cert_pem and not args.key_pem:
        raise ProfileError(
            "--cert-pem needs --key-pem, the private key that goes with the certificate."
        )
    for path in (args.cert, args.cert_pem, args.key_pem):
        if path is not None and not path.is_file():
            raise ProfileError(f"The certificate file {path} does not exist.")
    template = load_template(args.connection)
    choices, terms = _options(args.options)
    mapping = _read_json(args.mapping, "mapping file") if args.mapping else None
    profile = Profile(
        name=args.name.strip(),
        client_id=args.client_id.strip(),
        api_url=args.api.strip().rstrip("/"),
        identity_url=args.identity.strip().rstrip("/"),
        protocol=args.protocol,
        cert_pfx=str(args.cert.resolve()) if args.cert else None,
        cert_pem=str(args.cert_pem.resolve()) if args.cert_pem else None,
        key_pem=str(args.key_pem.resolve()) if args.key_pem else None,
        cert_password_env=args.cert_password_env,
        date_format=args.date_format,
        destroy_path=args.destroy_path.strip().strip("/"),
        require_created_by=args.require_created_by,
        refuse_modified_before_created=args.refuse_modified_before_created,
        choices=choices,
        terms=terms,
        mapping=mapping,
    )
    unknown = sorted(set(choices) - set(template.internal_names))
    if unknown:
        raise ProfileError(
            f"The options name columns the template does not have: {', '.join(unknown)}."
        )
    try:
        saved, said = add_profile(profile, args.connection, ask=terminal_prompt(), force=args.force)
    except ProfileRefused as exc:  # "...; the profile was not saved."
        raise ProfileError(f"{exc.message[:-1]} (--force saves it even so).") from None
    for sentence in said:
        if sentence == profile.destroy_path_note():  # say which flag sets it
            sentence = f"{sentence[:-1]} (--destroy-path PATH)."
        print(f"Warning: {sentence}", file=sys.stderr)
    print(
        f'Profile "{saved.name}" saved in {saved.folder}: {len(template)} columns, '
        f"connection {template.connection_id}."
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    found = profiles.list_profiles()
    if not found:
        print(
            "No profiles yet. Add one with 'opus-desktop profile add', "
            "or start 'opus-desktop sandbox'."
        )
        return 0
    width = max(len(p.name) for p in found)
    for p in found:
        print(f"{p.name.ljust(width)}  {p.protocol:<6}  {p.api_url}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    profile = profiles.find_profile(args.name)
    certificate = profile.cert_pfx or f"{profile.cert_pem} + {profile.key_pem}"
    lines = [
        ("Profile", profile.name),
        ("Protocol", profile.protocol),
        ("API", profile.api_url),
        ("Identity", profile.identity_url),
        ("Client id", profile.client_id),
        ("Certificate", certificate),
        (
            "Password from",
            f"${profile.cert_password_env}" if profile.cert_password_env else "keyring or prompt",
        ),
        ("Date format", profile.date_format),
        ("Conflict option", profile.conflict_option),
        ("Concurrency", str(profile.concurrency)),
    ]
    if profile.protocol == "legacy":
        lines.append(("Destroy path", profile.destroy_path or "(not set)"))
    else:
        lines.append(
            (
                "Created by",
                "required, with Modified by"
                if profile.require_created_by
                else "warned about when empty, with Modified by",
            )
        )
    told = "refused" if profile.refuse_modified_before_created else "warned about"
    lines.append(("Modified time", f"{told} when earlier than the Created time"))
    if not profile.verify_tls:
        lines.append(("WARNING", "TLS certificate verification is turned off for this profile"))
    for label, value in lines:
        print(f"{label + ':':<17}{value}")
    template = profile.template()
    print(f"{'Connection:':<17}{template.connection_id} ({len(template)} columns)")
    for column in template:
        options = profile.choices.get(column.internal_name)
        extra = f"  options: {', '.join(options)}" if options else ""
        required = " (required)" if column.required else ""
        print(f"  {column.display_name} [{column.type.value}]{required}{extra}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    profile = profiles.remove_profile(args.name)
    print(f'Profile "{profile.name}" removed.')
    return 0


# -- profile test ---------------------------------------------------------------------------------

_MARKS = {True: "ok", False: "FAIL"}


def run_test(args: argparse.Namespace) -> int:
    from opus_desktop.jobs.connect import test_connection

    profile = profiles.find_profile(args.name)
    password = find_password(profile, terminal_prompt())
    for step in test_connection(profile, password):
        mark = "warn" if step.ok and step.warning else _MARKS[step.ok]
        print(f"{mark:<6}{step.name}: {step.detail}", flush=True)
        if not step.ok:
            error = step.error
            code = error.exit_code if isinstance(error, AppError) else EXIT_UNREACHABLE
            hint = ""
            if profile.sandbox and code == EXIT_UNREACHABLE:
                hint = " Is the sandbox running? Start it with: opus-desktop sandbox"
            print(
                f'opus-desktop: the test of profile "{profile.name}" stopped at the '
                f"{step.name} step.{hint}",
                file=sys.stderr,
            )
            return code
    print(f'Profile "{profile.name}" works.')
    return EXIT_OK
