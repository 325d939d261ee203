from .modles import Profile
