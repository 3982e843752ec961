"""The decisions screen: the list (model and panel), the selected record's detail pane, a
record in words, and the PDF export."""
