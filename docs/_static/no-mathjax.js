/* offline build: formulas are Unicode text; no MathJax is loaded */
