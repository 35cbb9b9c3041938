"""Azure Functions blueprints, one per trigger kind; function_app.py registers them."""
