default_app_config = 'users.apps.UsersConfig'
