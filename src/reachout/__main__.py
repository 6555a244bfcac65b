from reachout.cli import app

app(prog_name="reachout")
