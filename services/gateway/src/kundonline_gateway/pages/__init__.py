"""What pages are made of: the page being answered, its forms, and its errors."""
