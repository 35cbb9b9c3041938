"""The Azure Functions app: creates the app and registers one blueprint per trigger kind."""

import azure.functions as func

from remediators.functions.events import blueprint as events_blueprint

app = func.FunctionApp()
app.register_functions(events_blueprint)
