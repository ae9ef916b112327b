"""`ga4kit properties`: the GA4 accounts and properties the credentials can see.

Only click is imported at module level; Google's clients load when the command runs.
"""

from __future__ import annotations

import click

from ga4kit.cli.common import handle_errors


@click.command("properties")
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON envelope; data: {principal, properties: [{account, account_name, property, "
                   "display_name, property_type, parent}]}.")
@handle_errors
def properties_cmd(as_json: bool) -> None:
    """List the accounts and properties the credentials can see (read-only).

    One row per property: account, property id (what goals files and -p take), display name and property
    type (ordinary, subproperty, rollup). A property that is missing here is one the credentials' account
    has no access to: add it in GA4 under Admin > Property access management.
    """
    from ga4kit.cli.common import echo_envelope, settings
    from ga4kit.properties import list_properties

    with settings().clients(write=False) as clients:
        who = clients.principal_label or clients.principal
        found = list_properties(clients)
    if as_json:
        echo_envelope("properties", {"principal": who, "properties": [p.as_dict() for p in found]})
        return
    if not found:
        click.echo(f"No GA4 property is visible to {who or 'these credentials'}. Add that account in GA4 under "
                   "Admin > Property access management (Viewer is enough to read), or use other "
                   "credentials (--credentials KEY.json).", err=True)
        return
    rows = [("ACCOUNT", "PROPERTY", "NAME", "TYPE")]
    rows += [(f"{p.account_name} ({p.account})", p.property, p.display_name, p.property_type) for p in found]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:3])) + "  " + r[3])
    accounts = len({p.account for p in found})
    click.echo(f"{len(found)} propert{'y' if len(found) == 1 else 'ies'} in {accounts} account"
               f"{'' if accounts == 1 else 's'}" + (f", visible to {who}" if who else "") + ".", err=True)
