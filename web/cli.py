"""Flask CLI commands: seed-demo, deploy, create-admin."""
from __future__ import annotations

import click
from flask import Flask

from engine import accounts, demo
from engine.errors import InvalidInput
from web.context import runtime
from web.extensions import db


def init_app(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load the org tree and demo accounts (idempotent), deploy processes, print the logins."""
        report = demo.seed(db.session)
        result = runtime().deploy(db.session)
        db.session.commit()
        click.echo(f"Đơn vị mới: {report.units_added}; tài khoản mới: {', '.join(report.users_added) or '-'}")
        for problem in result.problems:
            click.echo(f"  ! {problem}")
        click.echo(f"Quy trình: {', '.join(sorted(result.definitions))}")
        click.echo(f"Tài khoản demo (mật khẩu {demo.DEMO_PASSWORD}):")
        for username, full_name, is_admin, roles in demo.DEMO_USERS:
            what = "quản trị" if is_admin else ", ".join(f"{r}@{c}" for r, c in roles)
            click.echo(f"  {username:12} {full_name:22} {what}")

    @app.cli.command("deploy")
    def deploy() -> None:
        """Validate processes/ and store new versions; broken files are reported and refused."""
        result = runtime().deploy(db.session)
        db.session.commit()
        for problem in result.problems:
            click.echo(f"! {problem}")
        click.echo(f"deployed: {', '.join(sorted(result.definitions))}")

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.password_option()
    def create_admin(username: str, password: str) -> None:
        try:
            accounts.create_user(db.session, username, username, password, is_admin=True)
        except InvalidInput as exc:
            raise click.ClickException(f"{exc.message}: {exc.field_errors}") from exc
        db.session.commit()
        click.echo(f"created {username}")
