pytest_plugins = ["kundonline_devstack.pytest_plugin"]
