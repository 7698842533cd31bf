// The commitments pages: the list of both partners' commitments, and one commitment.
import "../commitments/commitments.css";
import { boot } from "../boot.js";
import { setupDetail, setupIndex } from "../commitments/page.js";

document.documentElement.classList.add("js");
boot({ commitments: setupIndex, commitment: setupDetail });
