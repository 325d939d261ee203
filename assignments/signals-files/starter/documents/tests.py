# Your own tests go here (python manage.py test documents).
# The grader never runs them and they never count towards your score.
