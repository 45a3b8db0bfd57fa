"""Classification quality: offline evaluation on a gold set, production agreement with the accountants."""
