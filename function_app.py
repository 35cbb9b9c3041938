"""The Azure Functions app: creates the app and registers one blueprint per trigger kind."""

import azure.functions as func

from remediators.functions.evaluate import blueprint as evaluate_blueprint
from remediators.functions.events import blueprint as events_blueprint
from remediators.functions.http import blueprint as http_blueprint
from remediators.functions.recreation import blueprint as recreation_blueprint
from remediators.functions.sweep import blueprint as sweep_blueprint

app = func.FunctionApp()
app.register_functions(events_blueprint)
app.register_functions(evaluate_blueprint)
app.register_functions(sweep_blueprint)
app.register_functions(http_blueprint)
app.register_functions(recreation_blueprint)
